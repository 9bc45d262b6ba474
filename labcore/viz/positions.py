"""Figures for positional encoding and the causal mask (the Attention page, lesson 11)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labcore.i18n import t
from labcore.viz.attention import _labels
from labcore.viz.theme import style


def positions_figure(pe: np.ndarray, similarity: np.ndarray, *, lang: str = "en") -> go.Figure:
    """Left: the position vectors as a heat map (position × dimension); right: their cosine similarity."""
    titles = [t("attention.viz.pe_vectors", lang), t("attention.viz.pe_similarity", lang)]
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.12, column_widths=[0.55, 0.45])
    bound = float(np.abs(pe).max()) or 1.0
    fig.add_trace(go.Heatmap(z=pe, colorscale="RdBu_r", zmid=0, zmin=-bound, zmax=bound, showscale=False,
                             hovertemplate=t("attention.viz.pe_hover", lang) + "<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Heatmap(z=similarity, colorscale="RdBu_r", zmid=0, zmin=-1, zmax=1,
                             colorbar={"title": {"text": "cos"}, "thickness": 12},
                             hovertemplate=t("attention.viz.sim_hover", lang) + "<extra></extra>"), row=1, col=2)
    fig.update_xaxes(title_text=t("attention.viz.dim", lang), row=1, col=1)
    fig.update_xaxes(title_text=t("attention.viz.position", lang), row=1, col=2)
    fig.update_yaxes(title_text=t("attention.viz.position", lang), autorange="reversed")
    fig.update_annotations(font_size=12)
    return style(fig, height=340, lang=lang)


def causal_figure(mask: np.ndarray, without: np.ndarray, with_mask: np.ndarray, tokens: list[str], *,
                  lang: str = "en") -> go.Figure:
    """The mask (which keys each query may see), then one head's weights without and with it."""
    labels = _labels(tokens)
    titles = [t(f"attention.viz.{k}", lang) for k in ("mask", "unmasked", "masked")]
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.05)
    fig.add_trace(go.Heatmap(z=mask.astype(float), x=labels, y=labels, zmin=0, zmax=1, showscale=False,
                             colorscale=[[0, "#EEEEEE"], [1, "#59A14F"]],
                             hovertemplate=t("attention.viz.mask_hover", lang) + "<extra></extra>"), row=1, col=1)
    for col, z in ((2, without), (3, with_mask)):
        fig.add_trace(go.Heatmap(z=z, x=labels, y=labels, zmin=0, zmax=1, colorscale="Blues", showscale=col == 3,
                                 colorbar={"title": {"text": t("attention.viz.weight", lang)}, "thickness": 12},
                                 hovertemplate=t("attention.viz.hover", lang) + "<extra></extra>"), row=1, col=col)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 10})
    fig.update_xaxes(tickangle=-45, tickfont={"size": 10})
    fig.update_annotations(font_size=12)
    return style(fig, height=max(300, 24 * len(tokens) + 150), lang=lang)
