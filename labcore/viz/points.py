"""2-D toy datasets (TensorFlow Playground style): the points, and the model's decision regions behind them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.images import png_data_uri
from labcore.viz.theme import class_colors, hex_to_rgb, message_annotation, styled_figure

POINTS_HEIGHT = 440
BACKGROUND_STRENGTH = 0.6  # how much class colour a fully confident region gets (rest is white)
BOUNDARY_COLOR = "rgba(40,40,40,0.75)"


def _tint(color: str, strength: float) -> str:
    """`color` mixed with white: the pale shade used for confident regions."""
    rgb = 255 - (255 - hex_to_rgb(color)) * strength
    return "rgb({},{},{})".format(*rgb.round().astype(int))


def _point_traces(X: np.ndarray, y: np.ndarray, class_names: list[str], lang: str) -> list[go.Scatter]:
    X, y = np.asarray(X, dtype=np.float32).reshape(-1, 2), np.asarray(y).astype(int).ravel()
    colors = class_colors(len(class_names))
    f1, f2 = t("viz.feature_1", lang), t("viz.feature_2", lang)
    size = 7 if len(y) <= 1000 else 5  # crowded sets read better with smaller dots
    traces = []
    for k, name in enumerate(class_names):
        mask = y == k
        traces.append(
            go.Scatter(
                x=X[mask, 0],
                y=X[mask, 1],
                name=str(name),
                mode="markers",
                # A white rim keeps a dot visible on a background of its own class colour.
                marker={"color": colors[k], "size": size, "line": {"color": "white", "width": 1}},
                hovertemplate=f"{f1} %{{x:.2f}}, {f2} %{{y:.2f}}<extra>{name}</extra>",
            )
        )
    return traces


def _square_layout(lang: str, x_range=None, y_range=None) -> dict:
    axis = {"zeroline": False, "showgrid": False, "constrain": "domain"}
    xaxis = {**axis, "title": {"text": t("viz.feature_1", lang)}}
    yaxis = {**axis, "title": {"text": t("viz.feature_2", lang)}, "scaleanchor": "x", "scaleratio": 1}
    if x_range is not None:
        xaxis["range"], yaxis["range"] = list(x_range), list(y_range)
    return {"xaxis": xaxis, "yaxis": yaxis}


def scatter2d_figure(
    X: np.ndarray, y: np.ndarray, class_names: list[str], *, lang: str = "en", height: int | None = None
) -> go.Figure:
    """The raw points coloured by class, equal aspect: the data preview before training."""
    layout = _square_layout(lang)
    layout["xaxis"]["showgrid"] = layout["yaxis"]["showgrid"] = True
    if len(np.asarray(y)) == 0:
        layout["annotations"] = [message_annotation(t("viz.no_points", lang))]
    return styled_figure(_point_traces(X, y, class_names, lang), layout, height=height or POINTS_HEIGHT)


def _blend_image(probs: np.ndarray, colors: list[str]) -> np.ndarray:
    """(G, G, K) probabilities -> (G, G, 3) uint8: class colours mixed by probability, paler where unsure."""
    k = probs.shape[-1]
    palette = np.stack([hex_to_rgb(c) for c in colors])  # (K, 3)
    mixed = probs @ palette
    # Confidence 0 at a uniform guess, 1 when one class has all the probability.
    confidence = np.clip((probs.max(-1, keepdims=True) - 1 / k) / (1 - 1 / k), 0, 1)
    alpha = BACKGROUND_STRENGTH * confidence
    return np.clip(255 * (1 - alpha) + mixed * alpha + 0.5, 0, 255).astype(np.uint8)


def decision_boundary_figure(
    xx: np.ndarray,
    yy: np.ndarray,
    probs: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    class_names: list[str],
    *,
    lang: str = "en",
    height: int | None = None,
) -> go.Figure:
    """Points over the model's predicted class on a grid: colour = class, paleness = uncertainty.

    `xx` (Gx,) and `yy` (Gy,) are the grid coordinates; `probs` is (Gy, Gx, K) with row = y, col = x.
    """
    xx, yy = np.asarray(xx, dtype=np.float64), np.asarray(yy, dtype=np.float64)
    probs = np.nan_to_num(np.asarray(probs, dtype=np.float32))  # a diverged model must not break the chart
    k = probs.shape[-1]
    colors = class_colors(max(k, len(class_names)))
    f1, f2 = t("viz.feature_1", lang), t("viz.feature_2", lang)
    background: list = []
    if k == 2:
        # Diverging scale on P(class 1): white where the model is unsure, class colours where it is sure.
        p1 = probs[..., 1]
        p_label = t("viz.probability_of", lang, name=class_names[1])
        background.append(
            go.Heatmap(
                x=xx,
                y=yy,
                z=p1,
                zmin=0,
                zmax=1,
                zsmooth="best",
                colorscale=[
                    [0.0, _tint(colors[0], BACKGROUND_STRENGTH)],
                    [0.5, "rgb(255,255,255)"],
                    [1.0, _tint(colors[1], BACKGROUND_STRENGTH)],
                ],
                # No colour bar: the legend's class colours already explain the regions, and hover
                # gives the probability.
                showscale=False,
                hovertemplate=f"{f1} %{{x:.2f}}, {f2} %{{y:.2f}}<br>{p_label}: %{{z:.2f}}<extra></extra>",
                name=p_label,
                showlegend=False,
            )
        )
        # The decision boundary itself: where P(class 1) crosses one half.
        if p1.min() < 0.5 < p1.max():
            background.append(
                go.Contour(
                    x=xx,
                    y=yy,
                    z=p1,
                    contours={"start": 0.5, "end": 0.5, "size": 1, "coloring": "lines"},
                    line={"color": BOUNDARY_COLOR, "width": 1.5},
                    colorscale=[[0, BOUNDARY_COLOR], [1, BOUNDARY_COLOR]],
                    showscale=False,
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
    else:
        # Many classes have no single diverging scale: paint an RGB picture of blended class colours.
        dx = (xx[-1] - xx[0]) / max(len(xx) - 1, 1)
        dy = (yy[-1] - yy[0]) / max(len(yy) - 1, 1)
        picture = _blend_image(probs, colors[:k])
        # As a PNG `source` the browser smooths the grid (plotly smooths only `source` images),
        # matching the K=2 heatmap; raw pixels are the fallback without Pillow.
        uri = png_data_uri(picture)
        image = {"source": uri, "zsmooth": "fast"} if uri else {"z": picture}
        background.append(go.Image(**image, x0=xx[0], dx=dx, y0=yy[0], dy=dy, hoverinfo="skip"))
    half_x = (xx[-1] - xx[0]) / max(len(xx) - 1, 1) / 2
    half_y = (yy[-1] - yy[0]) / max(len(yy) - 1, 1) / 2
    layout = _square_layout(lang, (xx[0] - half_x, xx[-1] + half_x), (yy[0] - half_y, yy[-1] + half_y))
    layout["plot_bgcolor"] = "white"
    traces = background + _point_traces(X, y, class_names, lang)
    return styled_figure(traces, layout, height=height or POINTS_HEIGHT)
