"""Optimizer race charts: every contender's loss and accuracy overlaid (one colour each), and the leaderboard.

Curves are drawn against epochs (the share of the data seen), so contenders with different batch sizes
line up. Validation is solid, training dotted, and every training step a faint line behind them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from labcore.config import OptimConfig
from labcore.i18n import t
from labcore.train.race import RaceConfig, Standing, optimizer_defaults
from labcore.viz.curves import _column
from labcore.viz.theme import NEUTRAL_COLOR, PALETTE, downsample, log_axis, message_annotation, rgba, styled_figure

RACE_HEIGHT = 400
STEP_POINTS = 600  # per contender: up to eight faint step lines are redrawn twice a second


def contender_color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def contender_labels(cfg: RaceConfig, lang: str = "en") -> list[str]:
    """'Adam · lr 0.001', plus whatever differs from the optimizer's defaults (decay, momentum, batch...)."""
    labels = []
    for c in cfg.contenders:
        parts = [t(f"optimizers.{c.optim.name}", lang), f"lr {c.optim.lr:g}"]
        parts += _option_notes(c.optim, lang)
        if c.batch_size:  # its own batch size, even when it equals the race's
            parts.append(t("race.label_batch", lang, size=c.batch_size))
        labels.append(" · ".join(parts))
    # Two identical setups still need two names.
    return [f"{label} ({i + 1})" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


def _option_notes(optim: OptimConfig, lang: str) -> list[str]:
    default = optimizer_defaults(optim.name)
    notes = []
    for key, fmt in (("weight_decay", "wd {:g}"), ("momentum", "μ {:g}"), ("beta1", "β₁ {:g}"), ("beta2", "β₂ {:g}"),
                     ("alpha", "α {:g}"), ("eps", "ε {:g}"), ("clip_norm", "clip {:g}")):
        if getattr(optim, key) != getattr(default, key):
            notes.append(fmt.format(getattr(optim, key)))
    if optim.schedule != "constant":
        notes.append(t(f"schedules.{optim.schedule}", lang).lower())
    return notes


def race_figure(standings: list[Standing], labels: list[str], *, target: float | None = None,
                log_loss: bool = True, lang: str = "en") -> go.Figure:
    """Loss (left) and accuracy (right) against epochs for every contender at once."""
    epoch_label, loss_label, acc_label = t("viz.epoch", lang), t("viz.loss", lang), t("viz.accuracy", lang)
    val_name, train_name = t("viz.validation", lang), t("viz.train", lang)
    traces: list[go.Scatter] = []
    for s in standings:
        color, name, group = contender_color(s.index), labels[s.index], f"c{s.index}"
        common = {"legendgroup": group, "showlegend": False}
        if s.steps:
            loss = _column(s.steps, "loss")
            keep = downsample(len(loss), STEP_POINTS, loss)
            traces.append(go.Scatter(x=_column(s.steps, "epoch")[keep], y=loss[keep], mode="lines", name=name,
                                     line={"color": rgba(color, 0.3 if s.epochs else 0.8), "width": 1},
                                     hovertemplate=f"%{{y:.4g}}<extra>{name}</extra>", **common))
        if s.status == "diverged" and s.steps:
            last = s.steps[-1]
            y = last["loss"] if math.isfinite(last["loss"]) else None
            traces.append(go.Scatter(
                x=[last["epoch"]], y=[y if y is not None else max(r["loss"] for r in s.steps[:-1] or [last])],
                mode="markers", marker={"symbol": "x", "size": 12, "color": color}, name=name,
                hovertemplate=t("race.diverged_hover", lang, step=s.diverged_step) + f"<extra>{name}</extra>",
                **common))
        x = _column(s.epochs, "epoch")
        for key, axes, dash, fmt, metric in (
            ("val_loss", ("x", "y"), "solid", ".4g", loss_label), ("loss", ("x", "y"), "dot", ".4g", loss_label),
            ("val_acc", ("x2", "y2"), "solid", ".1%", acc_label), ("acc", ("x2", "y2"), "dot", ".1%", acc_label),
        ):
            split = val_name if key.startswith("val") else train_name
            traces.append(go.Scatter(
                x=x, y=_column(s.epochs, key), mode="lines+markers" if len(x) <= 60 else "lines", name=name,
                line={"color": color, "width": 2.5 if dash == "solid" else 1.5, "dash": dash},
                marker={"size": 6 if dash == "solid" else 4}, xaxis=axes[0], yaxis=axes[1],
                legendgroup=group, showlegend=key == "val_loss", cliponaxis=axes[1] == "y",
                hovertemplate=f"{epoch_label} %{{x:d}} · {split} {metric.lower()}: %{{y:{fmt}}}<extra>{name}</extra>"))
    # How to read the line styles: two grey legend entries.
    for dash, text in (("solid", val_name), ("dot", train_name)):
        traces.append(go.Scatter(x=[None], y=[None], mode="lines", name=text, legendgroup="style",
                                 line={"color": NEUTRAL_COLOR, "dash": dash, "width": 2}, hoverinfo="skip"))
    grid = {"showgrid": True, "zeroline": False}
    layout: dict = {
        "xaxis": {"domain": [0.0, 0.46], "title": {"text": epoch_label}, "rangemode": "tozero", **grid},
        "xaxis2": {"domain": [0.54, 1.0], "title": {"text": epoch_label}, "anchor": "y2", "matches": "x", **grid},
        # On a log axis, label 1-2-5 only: every minor digit crowds the axis.
        "yaxis": {"title": {"text": loss_label},
                  **(log_axis(*(t.y for t in traces if t.yaxis in (None, "y") and t.y is not None)) if log_loss
                     else {"type": "linear"}), **grid},
        "yaxis2": {"title": {"text": acc_label}, "anchor": "x2", "range": [_accuracy_floor(standings), 1.01],
                   "tickformat": ".0%", **grid},
        "legend": {"groupclick": "togglegroup"},
        "margin": {"t": 60},
    }
    if target:
        layout["shapes"] = [{"type": "line", "xref": "x2 domain", "x0": 0, "x1": 1, "yref": "y2", "y0": target,
                             "y1": target, "line": {"color": NEUTRAL_COLOR, "dash": "dash", "width": 1}}]
        layout["annotations"] = [{"text": t("race.target_line", lang, target=target), "xref": "x2 domain",
                                  "x": 1, "xanchor": "right", "yref": "y2", "y": target, "yanchor": "top",
                                  "showarrow": False, "font": {"size": 11, "color": NEUTRAL_COLOR}}]
    if not any(s.steps for s in standings):
        layout["xaxis"]["range"] = [0, 1]
        if log_loss:
            layout["yaxis"]["range"] = [-1, 1]  # 0.1 to 10 until there is a loss to show
        layout["annotations"] = [*layout.get("annotations", []), message_annotation(t("race.press_start", lang), "x", "y")]
    return styled_figure(traces, layout, height=RACE_HEIGHT, hovermode="closest")


def _accuracy_floor(standings: list[Standing]) -> float:
    """Where the accuracy axis starts: a little under the lowest accuracy, so close finishes stay apart."""
    values = [v for s in standings for r in s.epochs for v in (r.get("acc"), r.get("val_acc"))
              if v is not None and math.isfinite(v)]
    return max(0.0, math.floor(min(values) * 10) / 10 - 0.05) if values else 0.0


# -- leaderboard -------------------------------------------------------------------------------------------
def leaderboard_rows(standings: list[Standing], target: float) -> list[dict]:
    """Per contender: best validation accuracy, when it first reached `target`, final losses, state memory.

    Sorted best first: highest best accuracy, then fewest steps to the target; diverged runs last.
    """
    rows = []
    for s in standings:
        acc = _column(s.epochs, "val_acc")
        reached = np.flatnonzero(acc >= target)
        first = int(reached[0]) if len(reached) else None
        best = int(np.nanargmax(acc)) if np.isfinite(acc).any() else None
        rows.append({
            "index": s.index, "status": s.status, "diverged_step": s.diverged_step,
            "best_val_acc": float(acc[best]) if best is not None else math.nan,
            "best_epoch": s.epochs[best]["epoch"] if best is not None else None,
            "steps_to_target": s.epochs[first]["step"] if first is not None else None,
            # Seconds of the heat's computation (shared by contenders with the same batch size).
            "seconds_to_target": float(_column(s.epochs, "seconds")[: first + 1].sum()) if first is not None else None,
            "final_loss": s.epochs[-1]["loss"] if s.epochs else math.nan,
            "state_bytes": s.state_bytes,
        })

    def rank(r: dict) -> tuple:
        acc = r["best_val_acc"]
        return (r["status"] == "diverged", -(acc if math.isfinite(acc) else -1), r["steps_to_target"] or math.inf)

    return sorted(rows, key=rank)


def leaderboard_frame(rows: list[dict], labels: list[str], *, param_bytes: int, lang: str = "en") -> pd.DataFrame:
    """The leaderboard as a table with the catalogue's column names, ready for st.dataframe."""

    def col(key: str) -> str:
        return t(f"race.col_{key}", lang)

    def status(r: dict) -> str:
        if r["status"] == "diverged":
            return t("race.status_diverged_at", lang, step=r["diverged_step"])
        return t(f"race.status_{r['status']}", lang)

    return pd.DataFrame({
        col("rank"): range(1, len(rows) + 1),
        col("contender"): [labels[r["index"]] for r in rows],
        col("status"): [status(r) for r in rows],
        col("best_val_acc"): [r["best_val_acc"] for r in rows],
        col("steps_to_target"): [r["steps_to_target"] for r in rows],
        col("seconds_to_target"): [r["seconds_to_target"] for r in rows],
        col("final_loss"): [r["final_loss"] for r in rows],
        col("state_bytes"): [r["state_bytes"] for r in rows],
        col("state_per_weight"): [r["state_bytes"] / max(param_bytes, 1) for r in rows],
    })
