"""Figures of the Sequences page: compared learning curves, gradient per time step, LSTM gates, forecasts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labcore.i18n import t
from labcore.viz.theme import NEUTRAL_COLOR, PALETTE, message_annotation, rgba, style, styled_figure

HEIGHT = 330


def _title(text: str) -> dict:
    # Title at the very top, the legend (anchored at the plot's top edge) below it: they never overlap.
    return {"text": text, "font": {"size": 14}, "y": 0.99, "yanchor": "top", "x": 0.01}


def model_color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def compare_curves_figure(runs: list[tuple[str, list[dict]]], *, metric: str = "val_acc", lang: str = "en") -> go.Figure:
    """One line per model of an epoch column (validation accuracy, or validation loss for forecasts)."""
    label = t(f"sequences.viz.{metric}", lang)
    traces = []
    for i, (name, epochs) in enumerate(runs):
        if not epochs:
            continue
        traces.append(go.Scatter(x=[e["epoch"] for e in epochs], y=[e.get(metric) for e in epochs], name=name,
                                 mode="lines+markers", line={"color": model_color(i), "width": 2},
                                 hovertemplate=f"{name} · %{{x}}: %{{y:.3g}}<extra></extra>"))
    layout = {"xaxis": {"title": t("viz.epoch", lang)}, "yaxis": {"title": label},
              "title": _title(t("sequences.viz.curves_title", lang)), "margin": {"t": 72}}
    if metric.endswith("acc"):
        layout["yaxis"] |= {"range": [0, 1.02], "tickformat": ".0%"}
    if not traces:
        layout["xaxis"]["range"] = [0, 1]
        layout["annotations"] = [message_annotation(t("sequences.viz.press_train", lang))]
    return styled_figure(traces, layout, height=HEIGHT, hovermode="x unified")


def gradient_time_figure(curves: list[tuple[str, np.ndarray]], *, title: str = "", lang: str = "en") -> go.Figure:
    """||dLoss/dx_t|| against the time step t, log scale: a line sloping down to the left is a vanishing gradient."""
    traces = []
    for i, (name, curve) in enumerate(curves):
        curve = np.asarray(curve, dtype=np.float64)
        traces.append(go.Scatter(x=np.arange(len(curve)), y=np.maximum(curve, 1e-30), name=name, mode="lines",
                                 line={"color": model_color(i), "width": 2},
                                 hovertemplate=f"{name} · t=%{{x}}: %{{y:.2e}}<extra></extra>"))
    layout = {"xaxis": {"title": t("sequences.viz.time_step", lang)},
              "yaxis": {"title": t("sequences.viz.grad_norm", lang), "type": "log", "exponentformat": "power"},
              "title": _title(title or t("sequences.viz.gradient_title", lang)), "margin": {"t": 72}}
    if not traces:
        layout["annotations"] = [message_annotation(t("sequences.viz.press_train", lang))]
    return styled_figure(traces, layout, height=HEIGHT, hovermode="x unified")


def gates_figure(gates: dict[str, np.ndarray], tokens: list[str], *, units: int = 16, lang: str = "en") -> go.Figure:
    """Heatmaps (hidden unit x time) of the LSTM's input, forget and output gates and its cell state."""
    panels = ("input", "forget", "output", "c")
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[t(f"sequences.viz.gate_{p}", lang) for p in panels])
    x = [f"{i}:{w}" for i, w in enumerate(tokens)]
    for row, name in enumerate(panels, start=1):
        z = gates[name][:, :units].T  # (units, T)
        gate = name != "c"
        fig.add_trace(go.Heatmap(
            z=z, x=x, y=[f"u{j}" for j in range(len(z))], zmin=0 if gate else -np.abs(z).max(),
            zmax=1 if gate else np.abs(z).max(), colorscale="Viridis" if gate else "RdBu_r", showscale=row in (1, 4),
            colorbar={"len": 0.22, "y": 0.89 if row == 1 else 0.11, "thickness": 12},
            hovertemplate="%{y} · %{x}: %{z:.2f}<extra></extra>"), row=row, col=1)
    fig.update_yaxes(showticklabels=False)
    fig.update_xaxes(tickangle=0, nticks=min(len(x), 25), row=len(panels), col=1)
    return style(fig, height=140 * len(panels) + 60)


def forecast_figure(time: np.ndarray, values: np.ndarray, cuts: tuple[int, int], forecasts: dict[str, tuple],
                    *, title: str = "", focus_from: int | None = None, lang: str = "en") -> go.Figure:
    """The whole series (grey), the train/val/test parts shaded, and each forecast over the test windows.

    `forecasts` maps a label to (target times, predicted values): one-step-ahead points joined by lines.
    With `focus_from` (an index), the view opens on the series from there on (zoom out to see it all), and
    the y-range fits the actual values shown, with a margin: seven forecast lines never hide the truth.
    The actual series is drawn last (on top of every forecast), thicker, and listed first in the legend.
    """
    traces = []
    for i, (label, (x, y)) in enumerate(forecasts.items()):
        dash = "dot" if i >= len(forecasts) - 2 and label.startswith("·") else None
        traces.append(go.Scatter(x=x, y=y, name=label.lstrip("·"), mode="lines", opacity=0.85, legendrank=1001 + i,
                                 line={"color": model_color(i), "width": 1.5, "dash": dash}))
    traces.append(go.Scatter(x=time, y=values, name=t("sequences.viz.actual", lang), mode="lines", legendrank=1000,
                             line={"color": NEUTRAL_COLOR, "width": 3}))
    shapes = []
    for (a, b), key in (((0, cuts[0]), "train"), ((cuts[0], cuts[1]), "val"), ((cuts[1], len(time) - 1), "test")):
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": time[a], "x1": time[min(b, len(time) - 1)],
                       "y0": 0, "y1": 1, "line": {"width": 0}, "layer": "below",
                       "fillcolor": rgba(PALETTE[{"train": 0, "val": 1, "test": 4}[key]], 0.07),
                       "label": {"text": t(f"sequences.viz.part_{key}", lang), "textposition": "top center",
                                 "font": {"size": 11, "color": NEUTRAL_COLOR}}})
    xaxis = {"title": t("sequences.viz.time", lang)}
    yaxis: dict = {}
    if focus_from is not None:
        xaxis["range"] = [time[max(0, focus_from)], time[-1]]
        shown = np.asarray(values[max(0, focus_from):], dtype=np.float64)
        shown = shown[np.isfinite(shown)]
        if len(shown):
            lo, hi = float(shown.min()), float(shown.max())
            margin = 0.12 * (hi - lo) or 0.5 * abs(hi) or 1.0
            yaxis["range"] = [lo - margin, hi + margin]
    layout = {"shapes": shapes, "xaxis": xaxis, "yaxis": yaxis,
              "title": _title(title), "margin": {"t": 96}}
    return styled_figure(traces, layout, height=420, hovermode="x unified")
