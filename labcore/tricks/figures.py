"""Plotly figures for the Training tricks page: data from labcore.tricks in, a Figure out, text from the
catalogue's `tricks.viz` table."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.tricks.init_explorer import InitResult, TrainCurve
from labcore.tricks.rotation import RotationProbe
from labcore.viz.theme import PALETTE, log_axis, message_annotation, styled_figure

HEIGHT = 400
MIN_DECADES = 4
ACT_COLOR, GRAD_COLOR = PALETTE[0], PALETTE[1]


def _title(text: str, xref: str) -> dict:
    return {"text": f"<b>{text}</b>", "xref": xref, "yref": "paper", "x": 0, "y": 1.0, "xanchor": "left",
            "yanchor": "bottom", "showarrow": False, "font": {"size": 13}}


def std_figure(result: InitResult, *, lang: str = "en") -> go.Figure:
    """Two panels on log-y axes, layer 1 (next to the input) on the left: the std of each hidden layer's
    activations and the std of the loss's gradient at its pre-activation. A value of exactly 0 cannot sit on a
    log axis: a panel whose values are all zero says so instead."""
    layer = t("tricks.viz.layer", lang)
    panels = (("act_std", ACT_COLOR, "x", "y"), ("grad_std", GRAD_COLOR, "x2", "y2"))
    data, annotations, layout = [], [], {}
    for i, (name, color, xa, ya) in enumerate(panels):
        values = getattr(result, name)
        shown = np.where(values > 0, values, np.nan)
        data.append(go.Scatter(x=result.layers, y=shown, mode="lines+markers", xaxis=xa, yaxis=ya, showlegend=False,
                               line={"color": color, "width": 2.5}, marker={"size": 5},
                               hovertemplate=f"{layer} %{{x}}: %{{y:.3g}}<extra></extra>"))
        annotations.append(_title(t(f"tricks.viz.{name}", lang), f"{xa} domain"))
        if not np.any(values > 0):
            annotations.append(message_annotation(t("tricks.viz.all_zero", lang), xa, ya))
        suffix = "" if i == 0 else "2"
        domain = [0, 0.45] if i == 0 else [0.55, 1]
        layout[f"xaxis{suffix}"] = {"domain": domain, "anchor": ya, "title": {"text": layer}, "zeroline": False,
                                    "range": [0.5, result.depth + 0.5]}
        layout[f"yaxis{suffix}"] = {"anchor": xa, **_log_range(values)}
    layout["annotations"] = annotations
    layout["margin"] = {"t": 40}
    return styled_figure(data, layout, height=HEIGHT, lang=lang)


def _log_range(values: np.ndarray, decades: int = MIN_DECADES) -> dict:
    """A log axis spanning at least `decades` powers of ten around the values, so a 5x drift looks small next to
    a 10^18x collapse instead of both filling the panel."""
    positive = values[np.isfinite(values) & (values > 0)]
    if not len(positive):  # nothing to place: no ticks (the panel says why)
        return {"type": "log", "showticklabels": False, "showgrid": False}
    lo, hi = np.log10(positive.min()), np.log10(positive.max())
    pad = max(0.0, decades - (hi - lo)) / 2 + 0.1
    lo, hi = lo - pad, hi + pad
    if hi - lo <= 6:  # ticks at 1, 2, 5 (or every power) of ten, as plain numbers
        return {**log_axis(positive, [10**lo, 10**hi]), "range": [lo, hi]}
    return {"type": "log", "range": [lo, hi], "dtick": math.ceil((hi - lo) / 6), "exponentformat": "power"}


def histogram_figure(result: InitResult, *, lang: str = "en") -> go.Figure:
    """The activations of a few layers (first, middle, last), one panel each with its own x range: the share
    of the batch's values in each bin."""
    layers = list(result.hists)
    n, gap = len(layers), 0.06
    width = (1 - gap * (n - 1)) / n
    data, annotations, layout = [], [], {}
    for i, k in enumerate(layers):
        share, edges = result.hists[k]
        suffix = "" if i == 0 else str(i + 1)
        xa, ya = f"x{suffix}", f"y{suffix}"
        data.append(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=share, width=np.diff(edges), xaxis=xa, yaxis=ya,
                           marker={"color": PALETTE[i % len(PALETTE)]}, showlegend=False,
                           hovertemplate="%{x:.3g}: %{y:.1%}<extra></extra>"))
        annotations.append(_title(t("tricks.viz.layer_n", lang, n=k), f"{xa} domain"))
        left = i * (width + gap)
        layout[f"xaxis{suffix}"] = {"domain": [left, left + width], "anchor": ya, "zeroline": False,
                                    "title": {"text": t("tricks.viz.activation", lang)}, "exponentformat": "power"}
        layout[f"yaxis{suffix}"] = {"anchor": xa, "tickformat": ".0%", "rangemode": "tozero"}
    layout["annotations"] = annotations
    layout["margin"] = {"t": 40}
    layout["bargap"] = 0
    return styled_figure(data, layout, height=300, lang=lang)


def train_figure(curve: TrainCurve, *, lang: str = "en") -> go.Figure:
    """The training loss of every mini-batch (thin) and its mean per epoch (markers), ln 10 (guessing among ten
    digits) as a dotted line."""
    steps = np.arange(1, len(curve.losses) + 1)
    per = curve.steps_per_epoch
    epochs = len(curve.losses) // per
    means = [np.nanmean(curve.losses[e * per:(e + 1) * per]) if np.isfinite(curve.losses[e * per:(e + 1) * per]).any()
             else np.nan for e in range(epochs)]
    data = [go.Scatter(x=steps, y=curve.losses, mode="lines", line={"color": GRAD_COLOR, "width": 1},
                       name=t("tricks.viz.batch_loss", lang), hovertemplate="%{x}: %{y:.3f}<extra></extra>"),
            go.Scatter(x=[(e + 0.5) * per for e in range(epochs)], y=means, mode="markers+lines",
                       marker={"size": 9, "color": ACT_COLOR}, line={"color": ACT_COLOR, "width": 2.5},
                       name=t("tricks.viz.epoch_loss", lang), hovertemplate="%{y:.3f}<extra></extra>")]
    shapes = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": math.log(10), "y1": math.log(10),
               "line": {"dash": "dot", "color": "gray", "width": 1.5}}]
    layout = {"xaxis": {"title": {"text": t("tricks.viz.step", lang)}, "zeroline": False},
              "yaxis": {"title": {"text": t("tricks.viz.loss", lang)}, "zeroline": False, **_loss_axis(curve.losses)},
              "shapes": shapes, "legend": {"orientation": "h", "y": 1.12, "x": 0}}
    return styled_figure(data, layout, height=320, lang=lang)


def _loss_axis(losses: np.ndarray) -> dict:
    """From 0 up, unless the losses span more than a factor of 100 (a blown-up start): then a log axis."""
    finite = losses[np.isfinite(losses) & (losses > 0)]
    if len(finite) and finite.max() > 100 * max(finite.min(), 1e-12):
        return log_axis(finite)
    return {"rangemode": "tozero"}


def rotation_figure(probe: RotationProbe, names: list[str], *, lang: str = "en") -> go.Figure:
    """One panel per model: the mean probability of "6" and of "9" over the turned test examples, against the
    angle (0° to 360°, counter-clockwise)."""
    n = len(names)
    gap = 0.08
    width = (1 - gap * (n - 1)) / n
    data, annotations, layout = [], [], {}
    angle = t("tricks.viz.angle", lang)
    for i, name in enumerate(names):
        suffix = "" if i == 0 else str(i + 1)
        xa, ya = f"x{suffix}", f"y{suffix}"
        for digit, values, color, dash in ((6, probe.p6[i], ACT_COLOR, "solid"), (9, probe.p9[i], GRAD_COLOR, "dash")):
            label = t("tricks.viz.p_digit", lang, digit=digit)
            data.append(go.Scatter(x=probe.angles, y=values, mode="lines+markers", xaxis=xa, yaxis=ya, name=label,
                                   legendgroup=str(digit), showlegend=i == 0, marker={"size": 4},
                                   line={"color": color, "width": 2.5, "dash": dash},
                                   hovertemplate=f"{label}, %{{x:.0f}}°: %{{y:.2f}}<extra>{name}</extra>"))
        annotations.append(_title(name, f"{xa} domain"))
        left = i * (width + gap)
        layout[f"xaxis{suffix}"] = {"domain": [left, left + width], "anchor": ya, "title": {"text": angle},
                                    "range": [0, 360], "tickvals": list(range(0, 361, 90)), "zeroline": False}
        layout[f"yaxis{suffix}"] = {"anchor": xa, "range": [0, 1.02], "title": {"text": t("tricks.viz.probability", lang)}
                                    if i == 0 else {}}
    layout["annotations"] = annotations
    layout["margin"] = {"t": 40, "b": 100}
    layout["legend"] = {"orientation": "h", "y": -0.32, "x": 0}  # below the axis titles
    return styled_figure(data, layout, height=380, lang=lang)
