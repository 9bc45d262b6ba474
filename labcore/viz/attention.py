"""Figures of the Attention page: token-to-token heatmaps per layer and head, and rollout overlays on images."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labcore.i18n import t
from labcore.viz.theme import style, styled_figure


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


# -- one head step by step (labcore.explain.attention_steps) ------------------------------------------------------
def _matrix(fig: go.Figure, z: np.ndarray, rows: list[str], row: int, col: int, scale: str, hover: str,
            mid: float | None = 0.0) -> None:
    bound = float(np.abs(z).max()) or 1.0
    fig.add_trace(go.Heatmap(z=z, y=rows, x=[str(i) for i in range(z.shape[1])], colorscale=scale, showscale=False,
                             zmid=mid, zmin=-bound if mid is not None else None, zmax=bound if mid is not None else None,
                             hovertemplate=hover + "<extra></extra>"), row=row, col=col)


def embedding_steps_figure(token: np.ndarray, position: np.ndarray, tokens: list[str], *, lang: str = "en") -> go.Figure:
    """The first block's input, built up: each token's vector + its position's vector = what the block reads."""
    labels = _labels(tokens)
    names = [t(f"attention.viz.{k}", lang) for k in ("token_part", "position_part", "block_input")]
    fig = make_subplots(rows=1, cols=3, subplot_titles=names, shared_yaxes=True, horizontal_spacing=0.04)
    hover = "%{y} · " + t("attention.viz.dim", lang) + " %{x}: %{z:.3f}"
    for col, z in enumerate((token, position, token + position), 1):
        _matrix(fig, z, labels, 1, col, "RdBu_r", hover)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 10})
    fig.update_xaxes(title_text=t("attention.viz.dim", lang), showticklabels=False)
    return style(fig, height=max(240, 18 * len(tokens) + 110))


def head_steps_figure(steps, tokens: list[str], query: int, *, lang: str = "en") -> go.Figure:
    """Q, K and V of one head (the query's row framed), then for that query: the scores Q·K/√d_k over the
    keys, the softmax of them (the attention weights) and the weighted sum of V the head hands on."""
    labels = _labels(tokens)
    top = [t(f"attention.viz.{k}", lang) for k in ("queries", "keys", "values")]
    bottom = [t("attention.viz.scores", lang, d=steps.d_k), t("attention.viz.softmax", lang),
              t("attention.viz.weighted_sum", lang)]
    fig = make_subplots(rows=2, cols=3, subplot_titles=top + bottom, vertical_spacing=0.2, horizontal_spacing=0.06,
                        row_heights=[0.58, 0.42])
    hover = "%{y} · " + t("attention.viz.dim", lang) + " %{x}: %{z:.3f}"
    for col, z in enumerate((steps.q, steps.k, steps.v), 1):
        _matrix(fig, z, labels, 1, col, "RdBu_r", hover)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 10}, row=1)
    fig.update_xaxes(showticklabels=False, title_text=t("attention.viz.dim", lang), row=1)
    # the query's row on Q (the one that asks), all rows of K and V (every key answers)
    fig.add_shape(type="rect", x0=-0.5, x1=steps.d_k - 0.5, y0=query - 0.5, y1=query + 0.5, line={"color": "#111",
                  "width": 2}, xref="x", yref="y")
    fig.add_trace(go.Bar(x=labels, y=steps.scores[query], marker_color="#9C755F",
                         hovertemplate="%{x}: %{y:.3f}<extra></extra>"), row=2, col=1)
    fig.add_trace(go.Bar(x=labels, y=steps.weights[query], marker_color="#4E79A7",
                         hovertemplate="%{x}: %{y:.1%}<extra></extra>"), row=2, col=2)
    fig.add_trace(go.Bar(x=[str(i) for i in range(steps.d_k)], y=steps.out[query], marker_color="#59A14F",
                         hovertemplate=t("attention.viz.dim", lang) + " %{x}: %{y:.3f}<extra></extra>"), row=2, col=3)
    fig.update_yaxes(tickformat=".0%", range=[0, 1], row=2, col=2)
    fig.update_xaxes(tickangle=-45, tickfont={"size": 10}, row=2)
    fig.update_annotations(font_size=12)
    fig.update_layout(showlegend=False)
    return style(fig, height=max(520, 30 * len(tokens) + 330))


def query_layers_figure(series: dict[str, np.ndarray], tokens: list[str], query: str, *, lang: str = "en") -> go.Figure:
    """One query's attention over the keys as grouped bars: one series per layer (heads averaged), and the
    rollout through all layers as the last (darkest) one."""
    labels = _labels(tokens)
    blues = ["#C6DBEF", "#9ECAE1", "#6BAED6", "#4292C6"]
    bars = [go.Bar(x=labels, y=weights, name=name, marker_color="#08306B" if k == len(series) - 1 else blues[k % 4],
                   hovertemplate=name + " · %{x}: %{y:.1%}<extra></extra>") for k, (name, weights) in enumerate(series.items())]
    layout = {"barmode": "group", "yaxis": {"tickformat": ".0%", "title": t("attention.viz.weight", lang)},
              "title": {"text": t("attention.viz.query_layers_title", lang, query=query), "font": {"size": 14}},
              "legend": {"x": 1.0, "xanchor": "right"}, "margin": {"t": 64}}
    return styled_figure(bars, layout, height=320)
