"""Live training charts from the engine's step and epoch rows: loss/accuracy, learning rate, grad norm.

Redrawn twice a second while training, so columns come out via numpy and long series are thinned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.theme import (
    MAX_POINTS,
    PALETTE,
    TRAIN_COLOR,
    VAL_COLOR,
    downsample,
    log_axis,
    message_annotation,
    rgba,
    styled_figure,
)

CURVES_HEIGHT = 340
SMALL_HEIGHT = 220
LR_MARK_COLOR = "#7C3AED"  # a live learning-rate change: dashed, in a colour no curve uses
MAX_MARKED_EPOCHS = 60  # beyond this, per-epoch markers crowd into a solid band


def _column(rows: list[dict] | Mapping[str, np.ndarray], key: str) -> np.ndarray:
    """One float column of `rows` (a list of dicts, or columns already: labcore.train.log.Columns); a
    missing or None value becomes NaN (plotly draws a gap)."""
    if isinstance(rows, Mapping):
        return np.asarray(rows[key], dtype=np.float64)
    nan = float("nan")
    return np.fromiter(
        (nan if (v := row.get(key)) is None else v for row in rows), dtype=np.float64, count=len(rows)
    )


def _has_data(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())


def training_curves_figure(
    steps: list[dict], epochs: list[dict], *, log_loss: bool = False, lang: str = "en",
    lr_changes: Sequence[tuple[int, float, float]] = (),
) -> go.Figure:
    """Loss (left) and accuracy (right) against epochs; per-step loss faint, per-epoch values bold. Each live
    learning-rate change (step, epoch, new rate) is a dashed line on both panels, labelled with the new rate."""
    epoch_label, loss_label, acc_label = t("viz.epoch", lang), t("viz.loss", lang), t("viz.accuracy", lang)
    step_label = t("viz.step", lang)
    traces: list[go.Scatter] = []

    if steps:
        loss = _column(steps, "loss")
        keep = downsample(len(steps), MAX_POINTS, loss)
        name = t("viz.train_each_step", lang)
        traces.append(
            go.Scatter(
                x=_column(steps, "epoch")[keep],
                y=loss[keep],
                customdata=_column(steps, "step")[keep],
                name=name,
                legendgroup="steps",
                mode="lines",
                # Faint behind the epoch means; clearer while it is all there is (the first epoch).
                line={"color": rgba(TRAIN_COLOR, 0.35 if epochs else 0.8), "width": 1},
                hovertemplate=f"{step_label} %{{customdata:d}}: %{{y:.4g}}<extra>{name}</extra>",
            )
        )

    if epochs:
        x = _column(epochs, "epoch")
        mode = "lines+markers" if len(epochs) <= MAX_MARKED_EPOCHS else "lines"
        # (column, colour, legend group, axes); accuracy shares the loss traces' legend entries.
        series = (
            ("loss", TRAIN_COLOR, "train", "x", "y", loss_label, ".4g"),
            ("val_loss", VAL_COLOR, "val", "x", "y", loss_label, ".4g"),
            ("acc", TRAIN_COLOR, "train", "x2", "y2", acc_label, ".1%"),
            ("val_acc", VAL_COLOR, "val", "x2", "y2", acc_label, ".1%"),
        )
        shown: set[str] = set()
        for key, color, group, xaxis, yaxis, metric, fmt in series:
            y = _column(epochs, key)
            if not _has_data(y):  # e.g. no validation split: no empty legend entry
                continue
            name = t("viz.train" if group == "train" else "viz.validation", lang)
            traces.append(
                go.Scatter(
                    x=x,
                    y=y,
                    name=name,
                    legendgroup=group,
                    showlegend=group not in shown,
                    mode=mode,
                    line={"color": color, "width": 2},
                    marker={"size": 6},
                    xaxis=xaxis,
                    yaxis=yaxis,
                    # Markers at exactly 0% or 100% would be cut in half by the axis edge.
                    cliponaxis=yaxis == "y",
                    hovertemplate=f"{epoch_label} %{{x:d}} · {metric}: %{{y:{fmt}}}<extra>{name}</extra>",
                )
            )
            shown.add(group)

    # plotly draws only the axes some trace uses: empty traces keep both panels on screen.
    for xaxis, yaxis in (("x", "y"), ("x2", "y2")):
        if not any((trace.yaxis or "y") == yaxis for trace in traces):
            traces.append(
                go.Scatter(x=[], y=[], xaxis=xaxis, yaxis=yaxis, showlegend=False, hoverinfo="skip")
            )

    # Two side-by-side panels laid out by hand: the same result as make_subplots(1, 2), built faster.
    grid = {"showgrid": True, "zeroline": False}
    layout = {
        "xaxis": {"domain": [0.0, 0.45], "title": {"text": epoch_label}, "rangemode": "tozero", **grid},
        "xaxis2": {
            "domain": [0.55, 1.0],
            "title": {"text": epoch_label},
            "anchor": "y2",
            "matches": "x",  # zooming one panel zooms the other: epochs stay aligned
            **grid,
        },
        "yaxis": {
            "title": {"text": loss_label},
            **(log_axis(*(tr.y for tr in traces if tr.yaxis in (None, "y") and tr.y is not None)) if log_loss
               else {"type": "linear"}),
            "rangemode": "tozero",
            **grid,
        },
        "yaxis2": {
            "title": {"text": acc_label},
            "anchor": "x2",
            "range": [0.0, 1.0],
            "tickformat": ".0%",
            **grid,
        },
    }
    if not steps and not epochs:
        layout["xaxis"]["range"] = [0, 1]
        if not log_loss:
            layout["yaxis"]["range"] = [0, 1]
        layout["annotations"] = [message_annotation(t("viz.press_train", lang), "x", "y")]
    _mark_lr_changes(layout, [(epoch, lr) for _, epoch, lr in lr_changes], ("x", "x2"), lang)
    return styled_figure(traces, layout, height=CURVES_HEIGHT, hovermode="closest")


def _mark_lr_changes(layout: dict, marks: Sequence[tuple[float, float]], xaxes: Sequence[str], lang: str) -> None:
    """A dashed vertical line at each (x, new rate) on every panel, the rate written at the top of the first."""
    shapes, notes = list(layout.get("shapes", [])), list(layout.get("annotations", []))
    for x, lr in marks:
        for axis in xaxes:
            shapes.append({"type": "line", "xref": axis, "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
                           "line": {"color": LR_MARK_COLOR, "width": 1.5, "dash": "dash"}})
        notes.append({"x": x, "xref": xaxes[0], "y": 1, "yref": "paper", "yanchor": "bottom", "showarrow": False,
                      "text": t("viz.lr_changed", lang, lr=lr), "font": {"size": 11, "color": LR_MARK_COLOR}})
    if marks:
        layout["shapes"], layout["annotations"] = shapes, notes


def _step_series_figure(
    steps: list[dict], key: str, label_key: str, color: str, *, log_y: bool, fmt: str, lang: str,
    lr_changes: Sequence[tuple[int, float, float]] = (),
) -> go.Figure:
    label, step_label = t(label_key, lang), t("viz.step", lang)
    layout = {
        "xaxis": {"title": {"text": step_label}, "zeroline": False},
        "yaxis": {
            "title": {"text": label},
            "type": "log" if log_y else "linear",
            "tickformat": "~g",
            "rangemode": "normal" if log_y else "tozero",
        },
        "showlegend": False,
        "margin": {"t": 10},  # no legend above, so no room kept for one
    }
    traces = []
    if steps:
        y = _column(steps, key)
        if log_y:
            y = np.where(y > 0, y, np.nan)  # a log axis cannot place 0 or negatives
        keep = downsample(len(steps), MAX_POINTS, y)
        traces.append(
            go.Scatter(
                x=_column(steps, "step")[keep],
                y=y[keep],
                name=label,
                mode="lines",
                line={"color": color, "width": 1.5},
                hovertemplate=f"{step_label} %{{x:d}}: %{{y:{fmt}}}<extra></extra>",
            )
        )
        if log_y:
            layout["yaxis"].update(log_axis(y[keep]))
    else:
        layout["xaxis"]["range"] = [0, 1]
        layout["yaxis"]["showticklabels"] = False
        layout["annotations"] = [message_annotation(t("viz.press_train", lang))]
    _mark_lr_changes(layout, [(step, lr) for step, _, lr in lr_changes], ("x",), lang)
    return styled_figure(traces, layout, height=SMALL_HEIGHT, hovermode="x")


def lr_figure(steps: list[dict], *, lang: str = "en", lr_changes: Sequence[tuple[int, float, float]] = ()) -> go.Figure:
    """Learning rate against step: shows the shape of the schedule (warmup, decay, restarts) and live changes."""
    return _step_series_figure(
        steps, "lr", "viz.learning_rate", PALETTE[4], log_y=False, fmt=".3g", lang=lang, lr_changes=lr_changes
    )


def grad_norm_figure(steps: list[dict], *, lang: str = "en",
                     lr_changes: Sequence[tuple[int, float, float]] = ()) -> go.Figure:
    """Gradient norm against step on a log axis: spikes warn of a learning rate that is too high."""
    return _step_series_figure(
        steps, "grad_norm", "viz.grad_norm", PALETTE[6], log_y=True, fmt=".3g", lang=lang, lr_changes=lr_changes
    )


__all__ = ["training_curves_figure", "lr_figure", "grad_norm_figure"]


def lr_finder_figure(result, *, lang: str = "en") -> go.Figure:
    """Loss vs learning rate (log x) from `labcore.train.lr_finder.find_lr`, with the suggestion marked."""
    lr_label, loss_label = t("viz.learning_rate", lang), t("viz.loss", lang)
    hover = f"{lr_label} %{{x:.2e}}<br>{loss_label} %{{y:.3f}}<extra></extra>"
    data = [
        go.Scatter(x=result.lrs, y=result.losses, mode="lines", name=t("viz.lr_finder_raw", lang),
                   line={"color": rgba(TRAIN_COLOR, 0.3), "width": 1}, hovertemplate=hover),
        go.Scatter(x=result.lrs, y=result.smoothed, mode="lines", name=t("viz.lr_finder_smoothed", lang),
                   line={"color": TRAIN_COLOR, "width": 2.5}, hovertemplate=hover),
    ]
    top = float(np.nanmax(result.smoothed)) if len(result.smoothed) else 1.0
    layout = {
        "xaxis": {"title": {"text": lr_label}, "type": "log", "tickformat": ".0e"},
        "yaxis": {"title": {"text": loss_label}, "range": [0, top * 1.15]},
        "shapes": [{"type": "line", "x0": result.suggestion, "x1": result.suggestion, "y0": 0, "y1": 1,
                    "yref": "paper", "line": {"color": PALETTE[2], "width": 2, "dash": "dash"}}],
        "annotations": [{"x": np.log10(result.suggestion), "y": 1, "yref": "paper", "yanchor": "bottom",
                         "text": t("viz.lr_finder_suggestion", lang, lr=result.suggestion), "showarrow": False,
                         "font": {"color": PALETTE[2]}}],
    }
    return styled_figure(data, layout, height=CURVES_HEIGHT, hovermode="x unified")
