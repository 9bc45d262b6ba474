"""Plotly figures for the Precision page (lesson 18); text from the catalogue's `precision.viz` table."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.precision.amp import Comparison
from labcore.precision.formats import Encoded, groups
from labcore.precision.scaling import MAX_LOG2, NORMAL_LOG2, ZERO_LOG2, Dynamic
from labcore.viz.theme import BAD_COLOR, NEUTRAL_COLOR, PALETTE, rgba, styled_figure

PARTS = ("sign", "exponent", "mantissa")
COLORS = {"sign": PALETTE[2], "exponent": PALETTE[0], "mantissa": PALETTE[4]}


def bits_figure(encoded: list[Encoded], *, lang: str = "en") -> go.Figure:
    """One row of cells per format, most significant bit on the left (bits read left to right in every language):
    sign, exponent and mantissa in their colours, a 1 in full colour and a 0 pale."""
    xs, ys, colors, texts, hovers = [], [], [], [], []
    rows = [e.fmt for e in encoded]
    for e in encoded:
        i = 0
        for part, chunk in zip(PARTS, groups(e), strict=True):
            for bit in chunk:
                xs.append(i)
                ys.append(e.fmt)
                colors.append(rgba(COLORS[part], 0.95 if bit == "1" else 0.18))
                texts.append(bit)
                hovers.append(t("precision.viz.bit_hover", lang, fmt=e.fmt, bit=e.width - 1 - i,
                                part=t(f"precision.viz.{part}", lang), value=bit))
                i += 1
    ink = ["white" if b == "1" else NEUTRAL_COLOR for b in texts]  # a 1 on full colour, a 0 on a pale one
    data = [go.Scatter(x=xs, y=ys, mode="markers+text", text=texts, textfont={"size": 12, "color": ink},
                       marker={"symbol": "square", "size": 22, "color": colors, "line": {"width": 1, "color": "white"}},
                       hovertext=hovers, hoverinfo="text", showlegend=False)]
    for part in PARTS:  # legend entries
        data.append(go.Scatter(x=[None], y=[None], mode="markers", name=t(f"precision.viz.{part}", lang),
                               marker={"symbol": "square", "size": 14, "color": COLORS[part]}))
    layout = {"xaxis": {"visible": False, "range": [-0.8, 31.8]},
              "yaxis": {"categoryorder": "array", "categoryarray": rows[::-1], "title": None},
              "hovermode": "closest"}
    return styled_figure(data, layout, height=90 + 45 * len(rows), lang=lang)


def gradient_histogram(log2_ref: np.ndarray, scale: float, *, lang: str = "en") -> go.Figure:
    """log2 |g × scale| of the float32 gradients, with float16's limits: below −25 a value rounds to 0, below −14
    it is subnormal (fewer mantissa bits), above log2(65504) it overflows to inf."""
    values = log2_ref + np.log2(scale)
    lo = min(float(values.min(initial=0.0)), ZERO_LOG2 - 4)
    hi = max(float(values.max(initial=0.0)), MAX_LOG2 + 2)
    zero_edge = ZERO_LOG2 - 1  # half the smallest subnormal and below round to 0
    bands = [(lo - 1, zero_edge, BAD_COLOR, 0.16, "zero"), (zero_edge, NORMAL_LOG2, PALETTE[1], 0.14, "subnormal"),
             (MAX_LOG2, hi + 1, BAD_COLOR, 0.16, "overflow")]
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": a, "x1": b, "y0": 0, "y1": 1, "line": {"width": 0},
               "fillcolor": rgba(c, alpha), "layer": "below"} for a, b, c, alpha, _ in bands]
    data = [go.Histogram(x=values, xbins={"start": np.floor(lo), "end": np.ceil(hi) + 1, "size": 0.5},
                         marker={"color": PALETTE[0]}, name=t("precision.viz.gradients", lang),
                         hovertemplate=t("precision.viz.hist_hover", lang) + "<extra></extra>")]
    for _, _, color, alpha, name in bands:
        data.append(go.Scatter(x=[None], y=[None], mode="markers", name=t(f"precision.viz.band_{name}", lang),
                               marker={"symbol": "square", "size": 12, "color": rgba(color, alpha * 2.5)}))
    layout = {"xaxis": {"title": {"text": t("precision.viz.log2_axis", lang)}, "range": [lo - 1, hi + 1], "dtick": 4},
              "yaxis": {"title": {"text": t("precision.viz.count", lang)}}, "shapes": shapes, "bargap": 0.05}
    return styled_figure(data, layout, height=360, lang=lang)


def scale_figure(d: Dynamic, *, lang: str = "en") -> go.Figure:
    """GradScaler's scale (log2) at every step; skipped steps (inf/nan gradients) marked."""
    steps = np.arange(1, len(d.scales) + 1)
    logs = np.log2(np.asarray(d.scales))
    skip = np.asarray(d.skipped)
    data = [go.Scatter(x=steps, y=logs, mode="lines", line={"color": PALETTE[0], "width": 2.5, "shape": "hv"},
                       name=t("precision.viz.scale", lang), hovertemplate="%{x}: 2^%{y}<extra></extra>"),
            go.Scatter(x=steps[skip], y=logs[skip], mode="markers", marker={"color": BAD_COLOR, "size": 9, "symbol": "x"},
                       name=t("precision.viz.skipped", lang), hovertemplate="%{x}<extra></extra>")]
    layout = {"xaxis": {"title": {"text": t("precision.viz.step", lang)}},
              "yaxis": {"title": {"text": t("precision.viz.log2_scale", lang)}, "dtick": 2},
              "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": MAX_LOG2, "y1": MAX_LOG2,
                          "line": {"color": NEUTRAL_COLOR, "dash": "dot"}}]}
    return styled_figure(data, layout, height=320, lang=lang)


def loss_figure(c: Comparison, *, lang: str = "en") -> go.Figure:
    steps = np.arange(1, len(c.base.losses) + 1)
    data = [go.Scatter(x=steps, y=c.base.losses, mode="lines", line={"color": PALETTE[0], "width": 2.5},
                       name="float32"),
            go.Scatter(x=steps, y=c.amp.losses, mode="lines", line={"color": PALETTE[1], "width": 2, "dash": "dash"},
                       name=t(f"precision.viz.amp_{c.amp.mode}", lang))]
    layout = {"xaxis": {"title": {"text": t("precision.viz.step", lang)}},
              "yaxis": {"title": {"text": t("precision.viz.loss", lang)}}, "hovermode": "x unified"}
    return styled_figure(data, layout, height=320, lang=lang)
