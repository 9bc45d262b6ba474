"""Figures for the Neurons page's "ML vs DL" tab (lesson 1): what hand-made features look like for one image,
shuffled pixels, and the training loop as a diagram. Text comes from the catalogue's `neurons.ml.viz` table."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labcore.basics import mlvsdl
from labcore.basics.mlvsdl import BINS, CELLS, LOOP_STAGES, LoopStep
from labcore.i18n import is_rtl, t
from labcore.viz.images import image_grid_figure
from labcore.viz.theme import BAD_COLOR, PALETTE, rgba, style, styled_figure


def _rgb(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8."""
    a = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    if a.shape[0] == 1:
        a = np.repeat(a, 3, axis=0)
    return (a.transpose(1, 2, 0) * 255).round().astype(np.uint8)


def hog_segments(cells: np.ndarray, h: int, w: int) -> tuple[list, list]:
    """Line segments drawing a HOG (CELLS, CELLS, BINS): in each cell one line per direction bin, along the edge
    (perpendicular to the gradient), as long as that bin's share of the image's strongest bin."""
    xs, ys = [], []
    top = cells.max() or 1.0
    ch, cw = h / CELLS, w / CELLS
    for i in range(CELLS):
        for j in range(CELLS):
            cy, cx = (i + 0.5) * ch - 0.5, (j + 0.5) * cw - 0.5
            for b in range(BINS):
                edge = (b + 0.5) * np.pi / BINS + np.pi / 2
                half = 0.48 * min(ch, cw) * cells[i, j, b] / top
                dx, dy = half * np.cos(edge), half * np.sin(edge)
                xs += [cx - dx, cx + dx, None]
                ys += [cy - dy, cy + dy, None]
    return xs, ys


def features_figure(image: np.ndarray, *, lang: str = "en") -> go.Figure:
    """One image, its ink with the HOG drawn over it, and its ink per row and per column."""
    from plotly.subplots import make_subplots

    x = image[None]
    a = mlvsdl.ink(x)[0]
    cells = mlvsdl.hog(a[None])[0]
    rows, cols = (p[0] for p in mlvsdl.profiles(a[None]))
    h, w = a.shape
    titles = [t(f"neurons.ml.viz.{k}", lang) for k in ("image", "hog", "rows", "cols")]
    fig = make_subplots(rows=1, cols=4, subplot_titles=titles, horizontal_spacing=0.06,
                        column_widths=[0.27, 0.27, 0.23, 0.23])
    fig.add_trace(go.Image(z=_rgb(image), hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Heatmap(z=a, colorscale="Greys", showscale=False, hovertemplate="%{z:.2f}<extra></extra>"),
                  row=1, col=2)
    sx, sy = hog_segments(cells, h, w)
    fig.add_trace(go.Scatter(x=sx, y=sy, mode="lines", line={"color": BAD_COLOR, "width": 2}, hoverinfo="skip",
                             showlegend=False), row=1, col=2)
    band = [str(k + 1) for k in range(len(rows))]
    fig.add_trace(go.Bar(x=rows, y=band, orientation="h", marker_color=PALETTE[0], showlegend=False,
                         hovertemplate="%{x:.0%}<extra></extra>"), row=1, col=3)
    fig.add_trace(go.Bar(x=band, y=cols, marker_color=PALETTE[1], showlegend=False,
                         hovertemplate="%{y:.0%}<extra></extra>"), row=1, col=4)
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    band_title = t("neurons.ml.viz.band", lang)
    fig.update_layout(xaxis=hidden, yaxis={**hidden, "autorange": "reversed", "scaleanchor": "x"},
                      xaxis2=hidden, yaxis2={**hidden, "autorange": "reversed", "scaleanchor": "x2"},
                      xaxis3={"tickformat": ".0%"}, yaxis3={"autorange": "reversed", "title": {"text": band_title}},
                      xaxis4={"title": {"text": band_title}}, yaxis4={"tickformat": ".0%"})
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)")
    return style(fig, height=300, lang=lang)


def shuffled_figure(images: np.ndarray, perm: np.ndarray, *, lang: str = "en") -> go.Figure:
    """A few images as they are (top row) and with the same pixel permutation (bottom row)."""
    mixed = mlvsdl.shuffle_pixels(images, perm)
    n = len(images)
    titles = [t("neurons.ml.viz.original", lang)] * n + [t("neurons.ml.viz.shuffled", lang)] * n
    return image_grid_figure(np.concatenate([images, mixed]), titles=titles, cols=n, lang=lang)


# -- the training loop ----------------------------------------------------------------------------------------------
def _stage_text(stage: str, s: LoopStep, lr: float, lang: str) -> str:
    head = f"<b>{t(f'neurons.ml.viz.stage_{stage}', lang)}</b>"
    first = ", ".join(str(v) for v in s.labels[:4]) + "…"
    body = {
        "batch": t("neurons.ml.viz.batch_text", lang, n=len(s.labels), labels=first),
        "forward": t("neurons.ml.viz.forward_text", lang, hidden=mlvsdl.LOOP_HIDDEN,
                     predicted=", ".join(str(v) for v in s.predicted[:4]) + "…"),
        "loss": t("neurons.ml.viz.loss_text", lang, loss=f"{s.loss_before:.4f}"),
        "backward": t("neurons.ml.viz.backward_text", lang, norm=f"{s.grad_norm:.4f}"),
        "step": t("neurons.ml.viz.step_text", lang, lr=f"{lr:g}", update=f"{s.update_norm:.4f}",
                  after=f"{s.loss_after:.4f}"),
    }[stage]
    return f"{head}<br>{body}"


def loop_figure(s: LoopStep, stage: int, lr: float, *, lang: str = "en") -> go.Figure:
    """The loop batch → model → loss → backward → optimizer step → (repeat) as boxes, in reading order (right to
    left in Hebrew and Persian); boxes up to `stage` show this step's numbers, the current one is filled."""
    shapes, annotations = [], []
    n = len(LOOP_STAGES)
    width = (n - 1) * 1.25 + 1
    flip = (lambda x: width - x) if is_rtl(lang) else (lambda x: x)  # noqa: E731

    def arrow(x: float, y: float, ax: float, ay: float) -> dict:
        return {"x": flip(x), "y": y, "ax": flip(ax), "ay": ay, "xref": "x", "yref": "y", "axref": "x", "ayref": "y",
                "text": "", "showarrow": True, "arrowhead": 3, "arrowsize": 1.2, "arrowwidth": 2, "arrowcolor": "#666666"}

    for k, name in enumerate(LOOP_STAGES):
        x0 = k * 1.25
        current = k == stage
        color = PALETTE[3] if name == "backward" else PALETTE[0]
        shapes.append({"type": "rect", "x0": min(flip(x0), flip(x0 + 1)), "x1": max(flip(x0), flip(x0 + 1)),
                       "y0": 0.55, "y1": 1.45, "line": {"color": color, "width": 4 if current else 1.5},
                       "fillcolor": rgba(color, 0.28 if current else 0.05 if k > stage else 0.12)})
        text = _stage_text(name, s, lr, lang) if k <= stage else f"<b>{t(f'neurons.ml.viz.stage_{name}', lang)}</b>"
        annotations.append({"x": flip(x0 + 0.5), "y": 1.0, "text": text, "showarrow": False, "font": {"size": 12}})
        if k < n - 1:  # an arrow to the next box
            annotations.append(arrow(x0 + 1.23, 1.0, x0 + 1.02, 1.0))
    end = (n - 1) * 1.25 + 0.5
    shapes.append({"type": "path", "path": f"M {flip(end)},0.55 L {flip(end)},0.2 L {flip(0.5)},0.2",
                   "line": {"color": "#666666", "width": 2}})
    annotations.append(arrow(0.5, 0.53, 0.5, 0.2))
    annotations.append({"x": flip(end / 2 + 0.25), "y": 0.2, "text": t("neurons.ml.viz.repeat", lang, next=s.step + 1),
                        "showarrow": False, "yshift": -12, "font": {"size": 12}})
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    layout = {"xaxis": {**hidden, "range": [-0.1, width + 0.1]}, "yaxis": {**hidden, "range": [0.0, 1.55]},
              "shapes": shapes, "annotations": annotations, "plot_bgcolor": "rgba(0,0,0,0)",
              "margin": {"l": 10, "r": 10, "t": 10, "b": 10}}
    return styled_figure([], layout, height=260, lang=lang)
