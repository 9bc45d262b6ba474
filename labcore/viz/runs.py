"""Run history charts: one per-epoch metric of several recorded runs overlaid, one colour per run."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.theme import PALETTE, message_annotation, styled_figure

RUNS_HEIGHT = 380


def runs_figure(series: Sequence[tuple[str, Sequence[tuple[int, float]]]], metric: str, *, lang: str = "en") -> go.Figure:
    """`series`: (run label, [(epoch, value)...]) per run; `metric`: the y axis title (already translated)."""
    data = [go.Scatter(x=[e for e, _ in points], y=[v for _, v in points], name=label, mode="lines+markers",
                       line={"color": PALETTE[i % len(PALETTE)], "width": 2}, marker={"size": 5},
                       hovertemplate=f"{label}<br>{t('runs.epoch', lang)} %{{x}}: %{{y:.4g}}<extra></extra>")
            for i, (label, points) in enumerate(series) if points]
    layout = {"xaxis": {"title": {"text": t("runs.epoch", lang)}}, "yaxis": {"title": {"text": metric}},
              "showlegend": True}
    if not data:
        layout["annotations"] = [message_annotation(t("runs.no_curve", lang))]
    return styled_figure(data, layout, height=RUNS_HEIGHT, hovermode="x unified", lang=lang)
