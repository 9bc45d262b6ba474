"""Figures of the Convolution page (lessons 7 and 8): the window on the picture and the feature map filling up,
the arithmetic at one stop, the padding/stride grid, and max against average pooling."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from labcore.basics.convolution import Grid, Window
from labcore.i18n import t
from labcore.viz.theme import BAD_COLOR, PALETTE, style

GREY = [[0, "#000000"], [1, "#FFFFFF"]]
DIVERGING = "RdBu_r"  # negative blue, positive red, zero white
MAX_TEXT_CELLS = 14  # write the numbers into a map only up to this many cells a side


def _fmt(x: float) -> str:
    x = 0.0 if abs(x) < 5e-10 else float(x)
    return f"{x:.2f}" if abs(x) < 100 else f"{x:.3g}"


def _texts(a: np.ndarray) -> list[list[str]]:
    return [[_fmt(v) if np.isfinite(v) else "" for v in row] for row in a]


def _square(fig: go.Figure, cols: int) -> None:
    """Image coordinates: row 0 at the top, square cells, no zoom drift between the maps."""
    for c in range(1, cols + 1):
        x = "x" if c == 1 else f"x{c}"
        fig.update_yaxes(autorange="reversed", scaleanchor=x, constrain="domain", showgrid=False, zeroline=False,
                         row=1, col=c)
        fig.update_xaxes(constrain="domain", showgrid=False, zeroline=False, side="top", row=1, col=c)


def _box(fig: go.Figure, col: int, x0: float, y0: float, w: float, h: float, color: str, dash: str = "solid") -> None:
    fig.add_shape(type="rect", x0=x0 - 0.5, x1=x0 + w - 0.5, y0=y0 - 0.5, y1=y0 + h - 0.5,
                  line={"color": color, "width": 3, "dash": dash}, row=1, col=col)


def _limit(a: torch.Tensor | np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    m = float(np.nanmax(np.abs(a))) if a.size and np.isfinite(a).any() else 0.0
    return m if m > 0 else 1.0


def window_figure(win: Window, *, lang: str = "en") -> go.Figure:
    """The (padded) picture with the window at its stop, beside the feature map written up to that stop."""
    k, p = int(win.kernel.shape[0]), win.padding
    padded = win.padded.numpy()
    fmap = win.fmap.numpy().astype(np.float64)
    filled = fmap.copy().ravel()
    filled[win.pos + 1 :] = np.nan  # not reached yet
    filled = filled.reshape(fmap.shape)
    h_out, w_out = fmap.shape
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=[
        t("convolution.viz.input", lang, h=padded.shape[0], w=padded.shape[1], p=p),
        t("convolution.viz.fmap", lang, h=h_out, w=w_out, n=win.pos + 1, total=h_out * w_out)])
    fig.add_trace(go.Heatmap(z=padded, colorscale=GREY, zmin=0, zmax=1, showscale=False,
                             hovertemplate=t("convolution.viz.hover_pixel", lang) + "<extra></extra>"), row=1, col=1)
    m = _limit(fmap)
    fig.add_trace(go.Heatmap(z=filled, colorscale=DIVERGING, zmin=-m, zmax=m, zmid=0, showscale=False,
                             text=_texts(filled) if max(fmap.shape) <= MAX_TEXT_CELLS else None,
                             texttemplate="%{text}" if max(fmap.shape) <= MAX_TEXT_CELLS else None,
                             hovertemplate=t("convolution.viz.hover_fmap", lang) + "<extra></extra>"), row=1, col=2)
    if p:
        h, w = win.image.shape
        _box(fig, 1, p, p, w, h, PALETTE[3], "dot")  # where the picture ends and the zeros begin
    _box(fig, 1, win.col, win.row, k, k, BAD_COLOR)
    _box(fig, 2, win.col, win.row, 1, 1, BAD_COLOR)
    _square(fig, 2)
    return style(fig, height=380, lang=lang)


def arithmetic_figure(win: Window, *, lang: str = "en") -> go.Figure:
    """Patch x kernel = products, their sum being the feature map's value at this stop (from F.conv2d)."""
    parts = [(win.patch, t("convolution.viz.patch", lang, row=win.row, col=win.col), GREY, (0.0, 1.0)),
             (win.kernel, t("convolution.viz.kernel", lang), DIVERGING, None),
             (win.products, t("convolution.viz.products", lang, value=_fmt(win.value)), DIVERGING, None)]
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.06, subplot_titles=[p[1] for p in parts])
    for c, (a, _, scale, span) in enumerate(parts, 1):
        a = a.numpy().astype(np.float64)
        lo, hi = span if span is not None else (-_limit(a), _limit(a))
        fig.add_trace(go.Heatmap(z=a, colorscale=scale, zmin=lo, zmax=hi, showscale=False, text=_texts(a),
                                 texttemplate="%{text}", textfont={"size": 13 if a.shape[0] <= 5 else 10},
                                 hovertemplate="%{text}<extra></extra>"), row=1, col=c)
    _square(fig, 3)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return style(fig, height=260, lang=lang)


def grid_figure(g: Grid, *, lang: str = "en") -> go.Figure:
    """The padded input: how many windows cover each cell, the first window's cells marked, the picture's
    border dotted (outside it: the zeros of the padding)."""
    side = g.n + 2 * g.p
    fig = make_subplots(rows=1, cols=1, subplot_titles=[t("convolution.viz.grid", lang, side=side)])
    fig.add_trace(go.Heatmap(z=g.coverage, colorscale="Blues", zmin=0, zmax=max(1.0, float(g.coverage.max())),
                             text=[[str(int(v)) for v in row] for row in g.coverage], texttemplate="%{text}",
                             showscale=False, hovertemplate=t("convolution.viz.hover_grid", lang) + "<extra></extra>"))
    ys, xs = np.nonzero(g.first)
    if len(xs):
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=t("convolution.viz.first", lang),
                                 marker={"symbol": "circle-open", "size": 22, "line": {"width": 3}, "color": BAD_COLOR},
                                 hoverinfo="skip"))
    if g.p:
        _box(fig, 1, g.p, g.p, g.n, g.n, PALETTE[1], "dot")
    _square(fig, 1)
    # fixed ranges: the markers would otherwise pad the axes; ticks below, clear of the title
    fig.update_xaxes(range=[-0.5, side - 0.5], side="bottom")
    fig.update_yaxes(range=[side - 0.5, -0.5], autorange=False)
    fig.update_layout(showlegend=bool(len(xs)))
    return style(fig, height=min(520, 150 + 28 * side), lang=lang)


def pooling_figure(x: torch.Tensor, maxed: torch.Tensor, averaged: torch.Tensor, *, lang: str = "en") -> go.Figure:
    """The feature map beside its max-pooled and average-pooled versions (one colour scale for all three)."""
    parts = [(x, t("convolution.viz.pool_in", lang, h=x.shape[0], w=x.shape[1])),
             (maxed, t("convolution.viz.pool_max", lang, h=maxed.shape[0], w=maxed.shape[1])),
             (averaged, t("convolution.viz.pool_avg", lang, h=averaged.shape[0], w=averaged.shape[1]))]
    m = _limit(x)
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.05, subplot_titles=[p[1] for p in parts])
    for c, (a, _) in enumerate(parts, 1):
        a = a.numpy().astype(np.float64)
        small = max(a.shape) <= MAX_TEXT_CELLS
        fig.add_trace(go.Heatmap(z=a, colorscale=DIVERGING, zmin=-m, zmax=m, zmid=0, showscale=c == 3,
                                 colorbar={"thickness": 12, "len": 0.8}, text=_texts(a) if small else None,
                                 texttemplate="%{text}" if small else None,
                                 hovertemplate=t("convolution.viz.hover_fmap", lang) + "<extra></extra>"), row=1, col=c)
    _square(fig, 3)
    return style(fig, height=340, lang=lang)


def receptive_figure(image: np.ndarray, grad: np.ndarray, box: tuple[int, int, int, int], *,
                     lang: str = "en") -> go.Figure:
    """The picture (grey, or colour for RGB) with the unit's theoretical field framed, beside the effective field:
    |∂ unit / ∂ pixel| as a heat map with the same frame."""
    top, bottom, left, right = box
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=[
        t("convolution.viz.rf_picture", lang, h=bottom - top + 1, w=right - left + 1),
        t("convolution.viz.rf_gradient", lang)])
    if image.shape[0] == 3:
        rgb = (np.clip(image.transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)
        fig.add_trace(go.Image(z=rgb, hoverinfo="skip"), row=1, col=1)
    else:
        fig.add_trace(go.Heatmap(z=image[0], colorscale=GREY, showscale=False,
                                 hovertemplate=t("convolution.viz.hover_pixel", lang) + "<extra></extra>"), row=1, col=1)
    # drawn as colours, not as a heat map: Streamlit's chart showed the zeros of a heat map here in another colour
    rgb = np.array([[round(float(c)) for c in v[4:-1].split(",")] for v in sample_colorscale("Inferno", grad.ravel().tolist())],
                   dtype=np.uint8).reshape(*grad.shape, 3)
    fig.add_trace(go.Image(z=rgb, customdata=grad, hovertemplate=t("convolution.viz.rf_hover", lang) + "<extra></extra>"),
                  row=1, col=2)
    for col in (1, 2):
        _box(fig, col, left, top, right - left + 1, bottom - top + 1, "#22C55E")
    _square(fig, 2)
    return style(fig, height=380, lang=lang)
