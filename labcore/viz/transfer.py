"""Transfer-learning charts: the strategies' curves overlaid, the results table, the feature view."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.metrics import accuracy_interval
from labcore.viz.theme import PALETTE, class_colors, downsample, log_axis, message_annotation, rgba, styled_figure

STRATEGY_COLORS = {"features": PALETTE[0], "finetune": PALETTE[1], "scratch": PALETTE[2]}
STEP_POINTS = 600


def strategy_label(strategy: str, lang: str = "en") -> str:
    return t(f"transfer.strategy_{strategy}", lang)


def transfer_curves_figure(lanes: dict[str, tuple[list[dict], list[dict]]], *, lang: str = "en") -> go.Figure:
    """Training loss per step (left) and validation accuracy per epoch (right), one colour per strategy."""
    traces: list[go.Scatter] = []
    for strategy, (steps, epochs) in lanes.items():
        color, name = STRATEGY_COLORS.get(strategy, PALETTE[3]), strategy_label(strategy, lang)
        if steps:
            loss = np.array([r["loss"] for r in steps], dtype=float)
            keep = downsample(len(loss), STEP_POINTS, loss)
            x = np.array([r["epoch"] for r in steps])[keep]
            traces.append(go.Scatter(x=x, y=loss[keep], mode="lines", name=name, legendgroup=strategy,
                                     line={"color": rgba(color, 0.8), "width": 1.5}, xaxis="x", yaxis="y",
                                     hovertemplate=f"{name}<br>%{{y:.3f}}<extra></extra>"))
        if epochs:
            traces.append(go.Scatter(x=[r["epoch"] for r in epochs], y=[r["val_acc"] for r in epochs],
                                     mode="lines+markers", name=name, legendgroup=strategy, showlegend=not steps,
                                     line={"color": color, "width": 2.5}, marker={"size": 5}, xaxis="x2", yaxis="y2",
                                     hovertemplate=f"{name}<br>%{{y:.1%}}<extra></extra>"))
    layout = {
        "xaxis": {"domain": [0, 0.47], "title": t("viz.epoch", lang)},
        "yaxis": {"title": t("transfer.viz.train_loss", lang),
                  **log_axis(*(tr.y for tr in traces if tr.yaxis == "y" and tr.y is not None))},
        "xaxis2": {"domain": [0.55, 1], "title": t("viz.epoch", lang), "anchor": "y2"},
        "yaxis2": {"title": t("transfer.viz.val_acc", lang), "anchor": "x2", "range": [0, 1.02], "tickformat": ".0%"},
    }
    if not traces:  # both panels drawn empty, with tidy ranges, and a note in the middle
        traces = [go.Scatter(x=[], y=[], xaxis=xa, yaxis=ya, showlegend=False) for xa, ya in (("x", "y"), ("x2", "y2"))]
        layout["xaxis"]["range"] = layout["xaxis2"]["range"] = [0, 1]
        layout["yaxis"] |= {"range": [-1, 1], "dtick": "D2"}  # log axis: 0.1 to 10, labelled 1-2-5
        layout["annotations"] = [message_annotation(t("transfer.viz.press_start", lang), "x", "y")]
    return styled_figure(traces, layout, height=380, hovermode="x unified")


def _interval(acc: float, n: int) -> str:
    lo, hi = accuracy_interval(acc, n)
    return "–" if math.isnan(lo) else f"{100 * lo:.0f}–{100 * hi:.0f} %"


def results_frame(results: list, best: str | None, *, lang: str = "en") -> pd.DataFrame:
    """One row per strategy: test accuracy, seconds, trainable and total parameters."""
    rows = []
    for r in results:
        label = strategy_label(r.strategy, lang) + (" ★" if r.strategy == best else "")
        rows.append({
            t("transfer.col_strategy", lang): label,
            t("transfer.col_test_acc", lang): None if math.isnan(r.test_accuracy) else r.test_accuracy,
            t("transfer.col_interval", lang): _interval(r.test_accuracy, getattr(r, "n_test", 0)),
            t("transfer.col_val_acc", lang): None if math.isnan(r.val_accuracy) else r.val_accuracy,
            t("transfer.col_seconds", lang): r.seconds,
            t("transfer.col_trainable", lang): r.trainable,
            t("transfer.col_total", lang): r.total,
            t("transfer.col_share", lang): r.trainable / max(r.total, 1),
            t("transfer.col_status", lang): t(f"status.{r.status}", lang),
        })
    return pd.DataFrame(rows)


def embedding_figure(panels: list[tuple[str, np.ndarray]], labels: np.ndarray, class_names: list[str], *,
                     index: np.ndarray | None = None, lang: str = "en") -> go.Figure:
    """Side-by-side 2-D scatters (e.g. before / after fine-tuning), one colour per class. `index`: each dot's
    image number in the test set, carried as customdata so that a click can show the image."""
    index = np.arange(len(labels)) if index is None else np.asarray(index)
    colors = class_colors(len(class_names))
    traces = []
    n = len(panels)
    layout: dict = {"legend": {"itemsizing": "constant"}, "annotations": []}
    for p, (title, xy) in enumerate(panels):
        suffix = "" if p == 0 else str(p + 1)
        for k, name in enumerate(class_names):
            mask = labels == k
            traces.append(go.Scattergl(x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=name, legendgroup=name,
                                       showlegend=p == 0, marker={"color": colors[k], "size": 6, "opacity": 0.8},
                                       xaxis=f"x{suffix}", yaxis=f"y{suffix}", customdata=index[mask],
                                       hovertemplate=f"{name} · #%{{customdata}}<extra></extra>"))
        lo, hi = p / n + (0.03 if p else 0), (p + 1) / n - (0.03 if p < n - 1 else 0)
        layout[f"xaxis{suffix}"] = {"domain": [lo, hi], "showticklabels": False, "zeroline": False}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "showticklabels": False, "zeroline": False}
        layout["annotations"].append({"text": f"<b>{title}</b>", "x": (lo + hi) / 2, "y": 1.0, "xref": "paper",
                                      "yref": "paper", "showarrow": False, "yanchor": "bottom"})
    layout["margin"] = {"t": 60}
    layout["legend"] |= {"y": 1.08}
    return styled_figure(traces, layout, height=420)
