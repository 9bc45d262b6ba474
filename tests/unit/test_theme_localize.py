"""labcore.viz.theme.localize: right-to-left charts and presentation font sizes."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labcore.i18n import LANGUAGE_NAMES, RTL_LANGUAGES, language_name
from labcore.viz import training_curves_figure
from labcore.viz.theme import FONT_SIZE, PRESENT_MAX_HEIGHT, localize, rtl_text, styled_figure

RLE, PDF = "\u202b", "\u202c"


def test_rtl_text_embeds_hebrew_and_persian_only():
    assert rtl_text("דיוק (%)") == f"{RLE}דיוק (%){PDF}"
    assert rtl_text("دقت") == f"{RLE}دقت{PDF}"
    assert rtl_text("Adam lr=0.001") == "Adam lr=0.001"  # Latin and numbers stay as they are
    assert rtl_text("Точність") == "Точність"
    assert rtl_text("שורה<br>שנייה") == f"{RLE}שורה{PDF}<br>{RLE}שנייה{PDF}"  # each line of an SVG label
    assert rtl_text(rtl_text("דיוק")) == rtl_text("דיוק")  # once only


def test_english_figures_are_untouched():
    fig = training_curves_figure([], [], lang="en")
    before = fig.to_json()
    assert localize(fig, lang="en").to_json() == before


def test_rtl_moves_title_and_legend_to_the_right_and_keeps_axes():
    fig = styled_figure([go.Scatter(x=[1, 2], y=[3, 4], name="אימון")],
                        {"title": {"text": "כותרת", "x": 0.0, "xanchor": "left"}, "xaxis": {"title": "אפוק"}})
    localize(fig, lang="he")
    assert (fig.layout.title.x, fig.layout.title.xanchor) == (1.0, "right")
    assert (fig.layout.legend.x, fig.layout.legend.xanchor) == (1.0, "right")
    assert fig.layout.legend.traceorder == "reversed"  # the first entry is the rightmost
    assert fig.layout.hoverlabel.align == "right"
    assert fig.data[0].name == f"{RLE}אימון{PDF}"
    assert fig.layout.xaxis.title.text == f"{RLE}אפוק{PDF}"
    assert fig.layout.xaxis.autorange is None and fig.layout.yaxis.side is None  # numbers still grow rightwards


def test_rtl_title_without_anchor_gets_one():
    fig = styled_figure([], {"title": {"text": "כותרת", "x": 0.01}})
    localize(fig, lang="fa")
    assert fig.layout.title.xanchor == "right"  # Plotly's automatic anchor would push it out of the chart


def test_rtl_swaps_side_by_side_panels_and_their_titles():
    fig = make_subplots(rows=1, cols=2, subplot_titles=("ראשון", "שני"))
    (left, right) = fig.layout.xaxis.domain, fig.layout.xaxis2.domain
    first_x = fig.layout.annotations[0].x
    localize(fig, lang="he")
    assert fig.layout.xaxis.domain == (1 - left[1], 1 - left[0])  # the first panel is now on the right
    assert fig.layout.xaxis2.domain == (round(1 - right[1], 6), round(1 - right[0], 6))
    assert fig.layout.annotations[0].x == 1 - first_x


def test_rtl_applies_once():
    fig = training_curves_figure([], [], lang="he")
    localize(fig, lang="he")
    once = fig.to_json()
    localize(fig, lang="he")
    assert fig.to_json() == once


def test_presentation_scales_fonts_and_heights_once():
    fig = styled_figure([go.Bar(x=[1], y=["a"], textfont={"size": 10})],
                        {"annotations": [{"text": "n", "font": {"size": 15}}]}, height=200)
    localize(fig, scale=1.5)
    localize(fig, scale=1.5)  # the page may pass a figure twice: no second scaling
    assert fig.layout.font.size == FONT_SIZE * 1.5
    assert fig.layout.annotations[0].font.size == 22.5
    assert fig.data[0].textfont.size == 15
    assert fig.layout.height == 300
    tall = localize(styled_figure([], {}, height=500), scale=1.5)
    assert tall.layout.height == PRESENT_MAX_HEIGHT  # still fits a 720-pixel projector


def test_language_names():
    assert language_name("he") == "עברית" and language_name("xx") == "xx"
    assert {"he", "fa"} <= RTL_LANGUAGES and set(LANGUAGE_NAMES) >= {"en", "he", "fa", "uk"}
