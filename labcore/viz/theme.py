"""The lab's shared figure look: colour-blind-safe palette, compact layout, thinning of long series.

Streamlit lays its own theme (font family, background, light/dark) over it, so we set only the rest.
"""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import is_rtl

# Tableau 10: distinguishable for the common colour-vision deficiencies, readable on light and dark.
PALETTE: tuple[str, ...] = (
    "#4E79A7",  # blue
    "#F28E2B",  # orange
    "#E15759",  # red
    "#76B7B2",  # teal
    "#59A14F",  # green
    "#EDC948",  # yellow
    "#B07AA1",  # purple
    "#FF9DA7",  # pink
    "#9C755F",  # brown
    "#BAB0AC",  # grey
)
# Lighter companions for more than ten classes (Tableau 20's second tones).
PALETTE_LIGHT: tuple[str, ...] = (
    "#A0CBE8",
    "#FFBE7D",
    "#FF9D9A",
    "#86BCB6",
    "#8CD17D",
    "#F1CE63",
    "#D4A6C8",
    "#FABFD2",
    "#D7B5A6",
    "#79706E",
)

# Colours with a fixed meaning across every page.
TRAIN_COLOR = PALETTE[0]
VAL_COLOR = PALETTE[1]
GOOD_COLOR = "#2CA02C"  # right prediction: a green readable as text on light and dark pages
BAD_COLOR = "#D62728"  # wrong prediction
NEUTRAL_COLOR = "#888888"  # works on Streamlit's light and dark backgrounds

SEQUENTIAL_SCALE = "Blues"  # confusion matrices: more = darker

MAX_POINTS = 1500  # longest line we send to the browser; charts redraw twice a second


def class_colors(n: int) -> list[str]:
    """`n` distinct class colours: Tableau 10, then its light tones, then repeating."""
    colors = PALETTE + PALETTE_LIGHT
    return [colors[i % len(colors)] for i in range(n)]


def hex_to_rgb(color: str) -> np.ndarray:
    """'#RRGGBB' -> float array [r, g, b] in 0..255."""
    color = color.lstrip("#")
    return np.array([int(color[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def rgba(color: str, alpha: float) -> str:
    r, g, b = hex_to_rgb(color).astype(int)
    return f"rgba({r},{g},{b},{alpha:g})"


FONT_SIZE = 13
PRESENT_MAX_HEIGHT = 560  # px: a scaled chart still fits a 1280x720 projector's page below the header


def base_layout(*, height: int | None = None, hovermode: str | bool = "closest") -> dict:
    """The lab's compact layout as a plain dict (margins, top legend, font, hover, zoom memory)."""
    layout = {
        "margin": {"l": 8, "r": 8, "t": 36, "b": 8},
        "legend": {
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "left",
            "x": 0.0,
            "bgcolor": "rgba(0,0,0,0)",
        },
        # Size only: the family comes from Streamlit's theme so charts match the page text.
        "font": {"size": FONT_SIZE},
        "hovermode": hovermode,
        # Keep the user's zoom/legend clicks when Streamlit re-sends the figure on the next rerun.
        "uirevision": "keep",
    }
    if height is not None:
        layout["height"] = height
    return layout


def style(
    fig: go.Figure, *, height: int | None = None, hovermode: str | bool = "closest", lang: str | None = None
) -> go.Figure:
    """Apply the lab's compact layout to `fig` in place (and `lang`'s text direction) and return it."""
    return localize(fig.update_layout(base_layout(height=height, hovermode=hovermode)), lang=lang)


def styled_figure(
    data: list,
    layout: dict,
    *,
    height: int | None = None,
    hovermode: str | bool = "closest",
    lang: str | None = None,
) -> go.Figure:
    """Build a figure with the lab's look in one go (constructing once is several ms faster than
    constructing and then calling `style`, which matters for charts redrawn twice a second).
    Nested dicts in `layout` (legend, margin) refine the base ones rather than replace them.
    With `lang`, the text direction follows the language (see `localize`).
    """
    merged = base_layout(height=height, hovermode=hovermode)
    for key, value in layout.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return localize(go.Figure(data=data, layout=merged), lang=lang)


# -- language direction and presentation ------------------------------------------------------------------
# Hebrew, Arabic-script (Persian) and their presentation forms: text with one of these reads right to left.
_RTL_CHAR = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_RLE, _PDF = "\u202b", "\u202c"  # right-to-left embedding ... pop directional formatting


def rtl_text(text: str) -> str:
    """`text` embedded right to left, line by line, when it holds right-to-left letters.

    Plotly draws text in SVG, laid out left to right (the chart must stay LTR so that numbers, axes and
    ticks keep their places); the embedding makes a Hebrew or Persian label with numbers or brackets read
    in the right order while digits and Latin words inside it stay left to right.
    """
    if not isinstance(text, str) or not _RTL_CHAR.search(text) or text.startswith(_RLE):
        return text
    return "<br>".join(f"{_RLE}{line}{_PDF}" for line in text.split("<br>"))


def _mirror(box, keep_outside: bool = False, anchor: bool = False) -> None:
    """Mirror a legend's, title's or note's horizontal place (x -> 1 - x, left <-> right anchor).

    With `anchor`, an automatic anchor becomes an explicit one (Plotly anchors a title at x = 0.99 by its
    start, which pushes it out of the chart)."""
    x = box.x
    if x is None or (keep_outside and not 0.0 <= x <= 1.0):
        return
    box.x = 1.0 - x
    if box.xanchor in (None, "auto"):
        if anchor:
            box.xanchor = "right" if box.x > 2 / 3 else "left" if box.x < 1 / 3 else "center"
    else:
        box.xanchor = {"left": "right", "right": "left"}.get(box.xanchor, box.xanchor)


def _scale_font(font, scale: float, default: float | None = None) -> None:
    size = font.size if font.size is not None else default
    if size is not None:
        font.size = round(size * scale, 1)


def localize(fig: go.Figure, *, lang: str | None = None, scale: float = 1.0) -> go.Figure:
    """Fit a finished figure to its reader, in place: right-to-left text and sides for `lang`, and every
    font `scale` times larger (presentation mode: readable from the back of a classroom).

    Each part applies once per figure (markers on the figure keep a second call from mirroring or scaling
    again), so a builder and the page may both call it. Right to left: the title and the legend move to
    the right and the legend lists its entries from the right; axes keep their direction (numbers grow
    to the right and upwards, as the tick labels are left-to-right numbers).
    """
    layout = fig.layout
    if lang and is_rtl(lang) and not getattr(fig, "_lab_rtl", False):
        fig._lab_rtl = True
        if layout.title.text:
            layout.title.text = rtl_text(layout.title.text)
            _mirror(layout.title, anchor=True)
        legend = layout.legend
        if legend.orientation == "h" or legend.x is None or 0.0 <= legend.x <= 1.0:
            _mirror(legend, keep_outside=True, anchor=True)
        if legend.orientation == "h":
            order = (legend.traceorder or "normal").split("+")
            flipped = [o for o in order if o not in ("reversed", "normal")]
            if "reversed" not in order:
                flipped.insert(0, "reversed")
            legend.traceorder = "+".join(flipped) or "normal"
        if legend.title.text:
            legend.title.text = rtl_text(legend.title.text)
        layout.hoverlabel.align = "right"
        for axis in _axes(layout):
            if axis.title.text:
                axis.title.text = rtl_text(axis.title.text)
            if axis.ticktext:
                axis.ticktext = [rtl_text(str(v)) for v in axis.ticktext]
        # Side-by-side panels swap places, so the first one is on the right; what is placed in paper
        # coordinates (panel titles, notes, bands) moves with them. Inside a panel nothing changes.
        panels = [axis for axis in _axes(layout) if axis.plotly_name.startswith("xaxis") and axis.domain]
        for axis in panels:
            lo, hi = axis.domain
            axis.domain = [round(1.0 - hi, 6), round(1.0 - lo, 6)]
        for note in layout.annotations:
            note.text = rtl_text(note.text)
            if note.xref == "paper" and note.x is not None:
                _mirror(note)
        for shape in layout.shapes:
            if shape.xref == "paper" and shape.x0 is not None and shape.x1 is not None:
                shape.x0, shape.x1 = 1.0 - shape.x1, 1.0 - shape.x0
        for trace in fig.data:
            if getattr(trace, "name", None):
                trace.name = rtl_text(trace.name)
            if isinstance(getattr(trace, "hovertemplate", None), str):
                trace.hovertemplate = rtl_text(trace.hovertemplate)
            bar = getattr(trace, "colorbar", None)
            if bar is not None and bar.title.text:
                bar.title.text = rtl_text(bar.title.text)
            if bar is not None and panels and bar.x is not None and 0.0 <= bar.x <= 1.0:
                _mirror(bar)
    if scale != 1.0 and not getattr(fig, "_lab_scaled", False):
        fig._lab_scaled = True
        _scale_font(layout.font, scale, default=12)
        base = layout.font.size
        _scale_font(layout.title.font, scale)
        _scale_font(layout.legend.font, scale)
        _scale_font(layout.legend.title.font, scale)
        if layout.hoverlabel.font.size is None:
            layout.hoverlabel.font.size = base
        else:
            _scale_font(layout.hoverlabel.font, scale)
        for axis in _axes(layout):
            _scale_font(axis.tickfont, scale)
            _scale_font(axis.title.font, scale)
        for note in layout.annotations:
            _scale_font(note.font, scale)
        for trace in fig.data:
            if getattr(trace, "textfont", None) is not None:
                _scale_font(trace.textfont, scale)
            bar = getattr(trace, "colorbar", None)
            if bar is not None:
                _scale_font(bar.tickfont, scale)
                _scale_font(bar.title.font, scale)
        if layout.margin.t is not None:  # room for the larger title and legend above the plot
            layout.margin.t = round(layout.margin.t * scale)
        if layout.height is not None:  # the plot keeps its share of the chart; tall ones still fit 720 px
            layout.height = max(layout.height, min(round(layout.height * scale), PRESENT_MAX_HEIGHT))
    return fig


def _axes(layout) -> list:
    return [layout[name] for name in layout if name.startswith(("xaxis", "yaxis"))]


def log_axis(*columns) -> dict:
    """A log axis whose ticks read as plain numbers: 0.1, 0.2, 0.5, 1, 2, 5 (plotly's own minor labels on
    a short log range read "5, 2, 1, 5, 2, 0.1", each digit standing for a different power of ten).
    Ticks at 1-2-5 of each decade the values cover (decades only above four decades)."""
    values = np.concatenate([np.asarray(c, dtype=np.float64).ravel() for c in columns]) if columns else np.zeros(0)
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):  # an empty chart (before a run) still reads 0.1, 0.2, 0.5, 1, 2, 5, 10, not "5, 2, 1, 5, 2"
        ticks = [m * 10.0**e for e in (-1, 0) for m in (1, 2, 5)] + [10.0]
        return {"type": "log", "tickvals": ticks, "ticktext": [f"{v:g}" for v in ticks], "range": [-1, 1]}
    lo, hi = int(np.floor(np.log10(values.min()))), int(np.ceil(np.log10(values.max())))
    steps = (1,) if hi - lo > 4 else (1, 2, 5)
    ticks = [m * 10.0**e for e in range(lo, hi + 1) for m in steps]
    return {"type": "log", "tickvals": ticks, "ticktext": [f"{v:g}" for v in ticks]}


def message_annotation(text: str, xaxis: str | None = None, yaxis: str | None = None) -> dict:
    """A gentle note for an empty chart ("Press Train to start"), centred on the figure or on one panel."""
    return {
        "text": text,
        "xref": f"{xaxis} domain" if xaxis else "paper",
        "yref": f"{yaxis} domain" if yaxis else "paper",
        "x": 0.5,
        "y": 0.5,
        "showarrow": False,
        "font": {"size": 15, "color": NEUTRAL_COLOR},
    }


def downsample(n: int, max_points: int = MAX_POINTS, values: np.ndarray | None = None) -> np.ndarray:
    """Indices of at most `max_points` of `n` samples, always keeping the first and the last.

    With `values`, each bucket keeps its minimum and maximum (so spikes and divergence stay visible,
    which plain striding would hide); without, the indices are evenly spaced.
    """
    if n <= max_points:
        return np.arange(n)
    if values is None:
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    inner = n - 2  # first and last are always kept
    per_bucket = -(-inner // max(1, (max_points - 2) // 2))  # ceil: two kept points per bucket
    buckets = -(-inner // per_bucket)
    v = np.asarray(values, dtype=np.float64)[1:-1]
    finite = np.isfinite(v)
    pad = buckets * per_bucket - inner
    # Non-finite values never win a bucket; padding only fills the last bucket, which has a real value.
    lo = np.concatenate([np.where(finite, v, np.inf), np.full(pad, np.inf)]).reshape(buckets, per_bucket)
    hi = np.concatenate([np.where(finite, v, -np.inf), np.full(pad, -np.inf)]).reshape(buckets, per_bucket)
    starts = np.arange(buckets) * per_bucket + 1
    picked = np.concatenate([[0], starts + lo.argmin(1), starts + hi.argmax(1), [n - 1]])
    return np.unique(picked)
