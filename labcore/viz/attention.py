"""Figures of the Attention page: token-to-token heatmaps per layer and head, and rollout overlays on images."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labcore.i18n import t
from labcore.viz.theme import style


def _labels(tokens: list[str]) -> list[str]:
    # Heatmap axes need unique labels: a repeated word ("the" twice) gets its position attached.
    return [f"{w} ({i})" if tokens.count(w) > 1 else w for i, w in enumerate(tokens)]


def attention_heads_figure(maps: np.ndarray, tokens: list[str], *, lang: str = "en") -> go.Figure:
    """A grid of heatmaps, one row per layer and one column per head: rows are queries, columns keys.

    `maps` is (layers, heads, T, T) for one example; `tokens` names the T positions.
    """
    layers, heads = maps.shape[:2]
    labels = _labels(tokens)
    titles = [t("attention.viz.layer_head", lang, layer=i + 1, head=j + 1) for i in range(layers) for j in range(heads)]
    fig = make_subplots(rows=layers, cols=heads, subplot_titles=titles, horizontal_spacing=0.12 / heads,
                        vertical_spacing=0.08 / layers, shared_xaxes=True, shared_yaxes=True)
    for i in range(layers):
        for j in range(heads):
            fig.add_trace(go.Heatmap(
                z=maps[i, j], x=labels, y=labels, zmin=0, zmax=1, colorscale="Blues", showscale=(i, j) == (0, 0),
                colorbar={"title": {"text": t("attention.viz.weight", lang)}, "thickness": 12},
                hovertemplate=t("attention.viz.hover", lang) + "<extra></extra>"), row=i + 1, col=j + 1)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 10})
    fig.update_xaxes(tickangle=-45, tickfont={"size": 10})
    size = max(260, 26 * len(tokens) + 120)
    return style(fig, height=size * layers)


def query_bars_figure(weights: np.ndarray, tokens: list[str], query: str, *, lang: str = "en") -> go.Figure:
    """One query's attention over the keys, averaged over heads, as bars (the row of the heatmap)."""
    fig = go.Figure(go.Bar(x=_labels(tokens), y=weights, marker_color="#4E79A7",
                           hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    fig.update_layout(yaxis={"tickformat": ".0%", "title": t("attention.viz.weight", lang)},
                      title={"text": t("attention.viz.query_title", lang, query=query), "font": {"size": 14}})
    return style(fig, height=260)


def rollout_overlay_figure(images: np.ndarray, heat: np.ndarray, titles: list[str], *, cols: int = 6,
                           lang: str = "en") -> go.Figure:
    """Each image (top) above its attention rollout (bottom, the [CLS] token's view of the patches)."""
    n = len(images)
    cols = min(cols, n)
    rows = 2 * -(-n // cols)
    fig = make_subplots(rows=rows, cols=cols, vertical_spacing=0.06, horizontal_spacing=0.02,
                        subplot_titles=[s for r in range(0, n, cols) for s in
                                        (titles[r : r + cols] + [""] * (cols - len(titles[r : r + cols])))
                                        + [""] * cols])
    for k in range(n):
        r, c = 2 * (k // cols) + 1, k % cols + 1
        img = images[k]
        rgb = np.repeat(img, 3, 0) if img.shape[0] == 1 else img[:3]
        rgb8 = (np.clip(rgb.transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)
        fig.add_trace(go.Image(z=rgb8, hoverinfo="skip"), row=r, col=c)
        # Below: the same image, with the rollout laid over it as a translucent heatmap.
        fig.add_trace(go.Image(z=rgb8, hoverinfo="skip"), row=r + 1, col=c)
        fig.add_trace(go.Heatmap(z=heat[k], colorscale="Inferno", zmin=0, zmax=1, opacity=0.6, showscale=k == 0,
                                 colorbar={"title": {"text": t("attention.viz.rollout", lang)}, "thickness": 12,
                                           "len": 0.5},
                                 hovertemplate=t("attention.viz.rollout", lang) + ": %{z:.2f}<extra></extra>"),
                      row=r + 1, col=c)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font_size=11)
    return style(fig, height=int(rows * 125) + 40)
