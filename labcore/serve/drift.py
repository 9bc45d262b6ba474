"""Lesson 23, monitoring a served model: the world drifts away from the test set. Week 0 is the test set as it
was; every later week the same images shift a little more (brighter, noisier or rotated). The accuracy per week
is compared with an alert threshold (the validation accuracy minus some points): the first week below it is
the week monitoring would have raised the alarm."""

from __future__ import annotations

import math
from dataclasses import dataclass

import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn

from labcore.i18n import t
from labcore.viz.theme import styled_figure

SHIFTS = ("brightness", "noise", "rotation")
STEP = {"brightness": 0.08, "noise": 0.06, "rotation": 6.0}  # the shift added per week: pixels, noise std, degrees
WEEKS = (4, 20, 12)  # the weeks slider: lowest, highest, default
DROP = 5.0  # alert when the accuracy falls this many percentage points below the validation accuracy
SEED = 23


@dataclass(frozen=True)
class DriftReport:
    kind: str
    levels: list[float]  # the shift of each week (week 0: none)
    accuracy: list[float]  # accuracy of each week, in [0, 1]
    reference: float  # accuracy on the validation set, unshifted
    threshold: float  # reference - drop points
    alert_week: int | None  # the first week whose accuracy is below the threshold

    @property
    def weeks(self) -> list[int]:
        return list(range(len(self.accuracy)))


def _pixels(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(255) if x.dtype == torch.uint8 else x.float()


def shift(x: torch.Tensor, kind: str, level: float, seed: int = SEED) -> torch.Tensor:
    """Images in [0, 1] (N, C, H, W) shifted by `level`: brightness added, Gaussian noise of that std, or a
    rotation by that many degrees (empty corners black). Level 0 returns the images unchanged."""
    x = _pixels(x)
    if level == 0:
        return x
    if kind == "brightness":
        return (x + level).clamp(0, 1)
    if kind == "noise":
        g = torch.Generator().manual_seed(seed)
        return (x + level * torch.randn(x.shape, generator=g)).clamp(0, 1)
    if kind == "rotation":
        a = math.radians(level)
        theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]]).expand(len(x), 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    raise ValueError(f"unknown shift {kind!r}")


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> float:
    """Top-1 accuracy of a model that takes [0, 1] pixels (labcore models normalise inside themselves)."""
    if len(y) == 0:
        return float("nan")
    model.eval()
    device = next(model.parameters()).device
    hits = 0
    for i in range(0, len(x), batch):
        hits += int((model(x[i : i + batch].to(device)).argmax(1).cpu() == y[i : i + batch]).sum())
    return hits / len(y)


def monitor(model: nn.Module, x_test: torch.Tensor, y_test: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor,
            kind: str = "brightness", weeks: int = WEEKS[2], drop: float = DROP) -> DriftReport:
    """Accuracy of weeks 0..weeks on the ever more shifted test images, and the first week below the alert
    threshold (validation accuracy minus `drop` percentage points)."""
    if kind not in SHIFTS:
        raise ValueError(f"unknown shift {kind!r}")
    levels = [w * STEP[kind] for w in range(weeks + 1)]
    acc = [accuracy(model, shift(x_test, kind, level), y_test) for level in levels]
    reference = accuracy(model, _pixels(x_val), y_val)
    threshold = reference - drop / 100
    alert = next((w for w, a in enumerate(acc) if a < threshold), None)
    return DriftReport(kind, levels, acc, reference, threshold, alert)


def drift_figure(report: DriftReport, *, lang: str = "en") -> go.Figure:
    """Accuracy per week, the alert threshold as a dashed line, and the first alert week marked in red."""
    level = t(f"serve.monitor.level_{report.kind}", lang)
    data = [go.Scatter(x=report.weeks, y=report.accuracy, mode="lines+markers", name=t("serve.monitor.accuracy", lang),
                       customdata=report.levels, line={"color": "#2F6FB0"},
                       hovertemplate=t("serve.monitor.week", lang) + " %{x}: %{y:.1%} (" + level
                       + " %{customdata:.2f})<extra></extra>"),
            go.Scatter(x=[0, report.weeks[-1]], y=[report.threshold] * 2, mode="lines", name=t("serve.monitor.threshold", lang),
                       line={"color": "#C0392B", "dash": "dash"}, hoverinfo="skip")]
    if report.alert_week is not None:
        w = report.alert_week
        data.append(go.Scatter(x=[w], y=[report.accuracy[w]], mode="markers", name=t("serve.monitor.alert", lang, week=w),
                               marker={"color": "#C0392B", "size": 14, "symbol": "x"},
                               hovertemplate=t("serve.monitor.alert", lang, week=w) + "<extra></extra>"))
    layout = {"xaxis": {"title": t("serve.monitor.week", lang), "dtick": 1 if len(report.weeks) <= 12 else 2},
              "yaxis": {"title": t("serve.monitor.accuracy", lang), "tickformat": ".0%", "range": [0, 1.02]},
              "legend": {"orientation": "h", "y": -0.25}}
    return styled_figure(data, layout, height=340, lang=lang)
