"""Sweep figures: every trial's validation-accuracy curve (cut trials end in a cross at their rung), a
learning-rate × batch-size heat map of the best validation accuracy, and a parallel-coordinates plot of all
trials' hyperparameters and results. Texts come from the catalogue (`sweep.viz.*`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.theme import NEUTRAL_COLOR, PALETTE, message_annotation, styled_figure

HEIGHT = 380


def curves_figure(rows: Sequence, rung_epochs: Sequence[int] = (), *, lang: str = "en") -> go.Figure:
    """`rows`: labcore.sweep.TrialRow; the best trial's line is thick, cut trials grey with a cross at the end."""
    best = max((r for r in rows if r.best == r.best), key=lambda r: r.best, default=None)
    data = []
    for r in rows:
        if not r.val_acc:
            continue
        epochs = list(range(1, r.epochs + 1))
        cut = r.state in ("cut", "diverged", "failed")
        color = NEUTRAL_COLOR if cut else PALETTE[r.trial.index % len(PALETTE)]
        width = 4 if r is best else 2
        data.append(go.Scatter(
            x=epochs, y=r.val_acc, name=r.trial.label(), mode="lines+markers",
            line={"color": color, "width": width, "dash": "dot" if cut else "solid"},
            marker={"size": [5] * (r.epochs - 1) + [11 if cut else 6],
                    "symbol": ["circle"] * (r.epochs - 1) + ["x" if cut else "circle"]},
            hovertemplate=f"{r.trial.label()}<br>{t('sweep.viz.epoch', lang)} %{{x}}: %{{y:.3f}}<extra></extra>"))
    layout = {"xaxis": {"title": {"text": t("sweep.viz.epoch", lang)}, "dtick": 1},
              "yaxis": {"title": {"text": t("sweep.viz.val_acc", lang)}, "tickformat": ".0%"},
              "showlegend": len(data) <= 16,
              "shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": e, "x1": e, "y0": 0, "y1": 1,
                          "line": {"color": NEUTRAL_COLOR, "width": 1, "dash": "dash"}} for e in rung_epochs[:-1]]}
    if not data:
        layout["annotations"] = [message_annotation(t("sweep.viz.no_results", lang))]
    return styled_figure(data, layout, height=HEIGHT, lang=lang)


def heatmap_table(rows: Sequence) -> tuple[list[float], list[int], np.ndarray]:
    """(learning rates, batch sizes, best validation accuracy per cell: NaN where no trial ran)."""
    lrs = sorted({r.trial.lr for r in rows})
    batches = sorted({r.trial.batch_size for r in rows})
    z = np.full((len(lrs), len(batches)), np.nan)
    for r in rows:
        if r.best == r.best:
            i, j = lrs.index(r.trial.lr), batches.index(r.trial.batch_size)
            z[i, j] = r.best if math.isnan(z[i, j]) else max(z[i, j], r.best)
    return lrs, batches, z


def heatmap_figure(rows: Sequence, *, lang: str = "en") -> go.Figure:
    lrs, batches, z = heatmap_table(rows)
    text = [["" if math.isnan(v) else f"{v:.1%}" for v in row] for row in z]
    data = [go.Heatmap(x=[str(b) for b in batches], y=[f"{lr:g}" for lr in lrs], z=z, text=text,
                       texttemplate="%{text}", colorscale="Viridis", zmin=0, zmax=1,
                       colorbar={"title": {"text": t("sweep.viz.best_val_acc", lang)}, "tickformat": ".0%"},
                       hovertemplate=(f"{t('sweep.viz.lr', lang)} %{{y}}<br>{t('sweep.viz.batch', lang)} %{{x}}<br>"
                                      f"{t('sweep.viz.best_val_acc', lang)} %{{z:.1%}}<extra></extra>"))]
    layout = {"xaxis": {"title": {"text": t("sweep.viz.batch", lang)}, "type": "category"},
              "yaxis": {"title": {"text": t("sweep.viz.lr", lang)}, "type": "category"}}
    return styled_figure(data, layout, height=HEIGHT, lang=lang)


def parcoords_figure(rows: Sequence, *, lang: str = "en") -> go.Figure:
    """One line per trial across learning rate (log10), batch size, optimizer, width, epochs and best val acc."""
    done = [r for r in rows if r.best == r.best]
    if not done:
        return styled_figure([], {"annotations": [message_annotation(t("sweep.viz.no_results", lang))]},
                             height=HEIGHT, lang=lang)
    optims = sorted({r.trial.optimizer for r in done})
    lrs = sorted({r.trial.lr for r in done})
    dims = [
        {"label": t("sweep.viz.lr", lang), "values": [math.log10(r.trial.lr) for r in done],
         "tickvals": [math.log10(v) for v in lrs], "ticktext": [f"{v:g}" for v in lrs]},
        {"label": t("sweep.viz.batch", lang), "values": [r.trial.batch_size for r in done],
         "tickvals": sorted({r.trial.batch_size for r in done})},
        {"label": t("sweep.viz.optimizer", lang), "values": [optims.index(r.trial.optimizer) for r in done],
         "tickvals": list(range(len(optims))), "ticktext": optims},
        {"label": t("sweep.viz.width", lang), "values": [r.trial.width for r in done],
         "tickvals": sorted({r.trial.width for r in done})},
        {"label": t("sweep.viz.epochs", lang), "values": [r.epochs for r in done],
         "tickvals": sorted({r.epochs for r in done})},
        {"label": t("sweep.viz.best_val_acc", lang), "values": [r.best for r in done], "range": [0, 1],
         "tickformat": ".0%"},
    ]
    for d in dims:  # a single value needs a range, or plotly draws nothing on the axis
        vals = d["values"]
        if "range" not in d and min(vals) == max(vals):
            d["range"] = [min(vals) - 1, max(vals) + 1]
    # no colour bar: the last axis is the colour's scale, and a bar would cover it
    data = [go.Parcoords(line={"color": [r.best for r in done], "colorscale": "Viridis", "cmin": 0, "cmax": 1},
                         dimensions=dims)]
    return styled_figure(data, {"margin": {"l": 50, "r": 50, "t": 70}}, height=HEIGHT, lang=lang)
