"""Autoencoder figures: the clickable latent scatter, the reconstruction curves (with PCA's line), the
reconstruction gallery, and the anomaly histogram and ROC curve. Image strips and grids (interpolation,
prior samples) are `image_grid_figure`s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.images import image_grid_figure
from labcore.viz.theme import (
    BAD_COLOR,
    NEUTRAL_COLOR,
    PALETTE,
    TRAIN_COLOR,
    VAL_COLOR,
    class_colors,
    message_annotation,
    rgba,
    styled_figure,
)

SCATTER_HEIGHT = 480
CURVES_HEIGHT = 280
CLICK_GRID = 31  # invisible points per side: plotly reports clicks on points only
PICK_COLOR = "#222222"


def latent_scatter_figure(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str], *,
                          held_out: Sequence[int] = (), bounds: tuple[float, float, float, float] | None = None,
                          picked: tuple[float, float] | None = None, axes: str = "z",
                          title: str | None = None, lang: str = "en", height: int = SCATTER_HEIGHT) -> go.Figure:
    """Codes of the shown images, one colour per class (labels only colour the dots: training never saw them).

    With `bounds`, the whole box is covered by invisible points, so a click anywhere reports a position to
    decode; a dot's `customdata` is its index in `points`. Held-out classes are drawn as crosses. `axes` names
    the coordinates: "z" (the codes), "codes_pc" (the codes' principal plane, k > 2) or "pc" (PCA of the images).
    """
    points, labels = np.asarray(points, dtype=np.float32).reshape(-1, 2), np.asarray(labels).astype(int)
    axis_1, axis_2 = t(f"autoencoders.viz.{axes}_1", lang), t(f"autoencoders.viz.{axes}_2", lang)
    traces: list[go.Scatter] = []
    if bounds is not None:
        x0, x1, y0, y1 = bounds
        gx, gy = np.meshgrid(np.linspace(x0, x1, CLICK_GRID), np.linspace(y0, y1, CLICK_GRID))
        # Hover must stay on: plotly sends no click for points whose hover is skipped.
        traces.append(go.Scatter(x=gx.ravel(), y=gy.ravel(), mode="markers", showlegend=False, name="",
                                 marker={"size": 14, "opacity": 0},
                                 hovertemplate=t("autoencoders.viz.click_to_decode", lang) + "<extra></extra>"))
    colors = class_colors(len(class_names))
    index = np.arange(len(labels))
    for k, name in enumerate(class_names):
        mask = labels == k
        if not mask.any():
            continue
        out = k in held_out
        label = t("autoencoders.viz.held_out_class", lang, name=name) if out else str(name)
        traces.append(go.Scatter(
            x=points[mask, 0], y=points[mask, 1], customdata=index[mask], mode="markers", name=label,
            marker={"color": colors[k], "size": 8 if out else 7, "symbol": "x" if out else "circle",
                    "line": {"color": "white", "width": 0 if out else 0.5}},
            hovertemplate=f"{axis_1} %{{x:.2f}}, {axis_2} %{{y:.2f}}<extra>{label}</extra>"))
    if picked is not None:
        traces.append(go.Scatter(x=[picked[0]], y=[picked[1]], mode="markers", showlegend=False,
                                 name=t("autoencoders.viz.decoded_here", lang), hoverinfo="name",
                                 marker={"symbol": "star", "size": 18, "color": PICK_COLOR,
                                         "line": {"color": "white", "width": 1.5}}))
    axis = {"zeroline": False, "showgrid": True}
    layout = {"xaxis": {**axis, "title": {"text": axis_1}},
              "yaxis": {**axis, "title": {"text": axis_2}},
              # Classes listed beside the map, so ten of them do not eat its height.
              "legend": {"itemsizing": "constant", "orientation": "v", "x": 1.01, "xanchor": "left", "y": 1.0,
                         "yanchor": "top"},
              "dragmode": "pan", "clickmode": "event+select"}
    if bounds is not None:
        layout["xaxis"]["range"], layout["yaxis"]["range"] = [bounds[0], bounds[1]], [bounds[2], bounds[3]]
    if title:
        layout["title"] = {"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}}
        layout["margin"] = {"t": 40}
    if len(points) == 0:
        layout["annotations"] = [message_annotation(t("viz.press_train", lang))]
    return styled_figure(traces, layout, height=height)


def _column(rows: list[dict], key: str) -> np.ndarray:
    return np.array([r.get(key, np.nan) for r in rows], dtype=np.float64)


def ae_curves_figure(epochs: list[dict], *, pca_recon: float | None = None, variational: bool = False,
                     lang: str = "en", height: int = CURVES_HEIGHT) -> go.Figure:
    """Reconstruction error per epoch (train and validation) against PCA's with the same k; a VAE's KL
    term in a second panel."""
    epoch_label, mse_label = t("viz.epoch", lang), t("autoencoders.viz.recon_mse", lang)
    x = _column(epochs, "epoch")
    traces: list[go.Scatter] = []
    panels = (("recon", "val_recon", "y", mse_label), ("kl", "val_kl", "y2", t("autoencoders.viz.kl", lang)))
    for key, val_key, yaxis, metric in panels[: 2 if variational else 1]:
        for column, color, group in ((key, TRAIN_COLOR, "train"), (val_key, VAL_COLOR, "val")):
            name = t("viz.train" if group == "train" else "viz.validation", lang)
            traces.append(go.Scatter(
                x=x, y=_column(epochs, column), name=name, legendgroup=group, showlegend=yaxis == "y",
                mode="lines+markers" if len(epochs) <= 60 else "lines", marker={"size": 5},
                line={"color": color, "width": 2}, xaxis="x" if yaxis == "y" else "x2", yaxis=yaxis,
                hovertemplate=f"{epoch_label} %{{x:d}} · {metric}: %{{y:.4g}}<extra>{name}</extra>"))
    if pca_recon is not None:
        end = max(1.0, float(x[-1]) if len(x) else 1.0)
        name = t("autoencoders.viz.pca_line", lang)
        traces.append(go.Scatter(x=[0, end], y=[pca_recon, pca_recon], mode="lines", name=name,
                                 line={"color": NEUTRAL_COLOR, "dash": "dash", "width": 2},
                                 hovertemplate=f"{name}: %{{y:.4g}}<extra></extra>"))
    grid = {"showgrid": True, "zeroline": False}
    layout = {"xaxis": {"title": {"text": epoch_label}, "rangemode": "tozero", **grid},
              "yaxis": {"title": {"text": mse_label}, "rangemode": "tozero", **grid}}
    if variational:  # KL below the reconstruction error, sharing the epoch axis: the page column is narrow
        height = height + 140
        layout["xaxis"] = {"anchor": "y", "rangemode": "tozero", "showticklabels": False, **grid}
        layout["yaxis"]["domain"] = [0.52, 1.0]
        layout["xaxis2"] = {"title": {"text": epoch_label}, "anchor": "y2", "matches": "x", **grid}
        layout["yaxis2"] = {"title": {"text": t("autoencoders.viz.kl", lang)}, "anchor": "x2", "domain": [0.0, 0.4],
                            "rangemode": "tozero", **grid}
    if not epochs:
        layout["annotations"] = [message_annotation(t("viz.press_train", lang))]
        layout["xaxis"]["range"] = [0, 1]
    return styled_figure(traces, layout, height=height, hovermode="x unified" if epochs else "closest")


def reconstruction_grid_figure(originals: np.ndarray, recons: np.ndarray, *, noisy: np.ndarray | None = None,
                               pca: np.ndarray | None = None, class_names: Sequence[str] | None = None,
                               labels: Sequence[int] | None = None, lang: str = "en") -> go.Figure:
    """Rows of n images: originals (titled by class), the noisy inputs (denoising), the autoencoder's
    reconstructions (titled by their error), PCA's (titled by its error)."""
    originals, recons = np.asarray(originals), np.asarray(recons)
    n = len(originals)
    rows, titles = [originals], [[class_names[int(c)] for c in labels] if class_names is not None and labels is not None
                                 else [""] * n]
    if noisy is not None:
        rows.append(np.asarray(noisy))
        titles.append([t("autoencoders.viz.noisy", lang)] * n)
    for images, key in ((recons, "autoencoders.viz.ae_error"), (pca, "autoencoders.viz.pca_error")):
        if images is None:
            continue
        images = np.asarray(images)
        err = ((images - originals) ** 2).reshape(n, -1).mean(1)
        rows.append(images)
        titles.append([t(key, lang, mse=e) for e in err])
    return image_grid_figure(np.concatenate(rows), titles=[s for row in titles for s in row], cols=n, lang=lang)


def anomaly_histogram_figure(errors: np.ndarray, is_anomaly: np.ndarray, threshold: float, *,
                             lang: str = "en", height: int = 320) -> go.Figure:
    """Reconstruction errors of normal and held-out images, overlaid, with the threshold as a line;
    everything right of it is flagged."""
    errors, is_anomaly = np.asarray(errors, dtype=np.float64), np.asarray(is_anomaly, dtype=bool)
    edges = np.histogram_bin_edges(errors, bins=40) if len(errors) else np.linspace(0, 1, 41)
    bins = {"start": float(edges[0]), "end": float(edges[-1]), "size": float(edges[1] - edges[0]) or 1e-6}
    traces = []
    for mask, key, color in ((~is_anomaly, "autoencoders.viz.normal", PALETTE[0]),
                             (is_anomaly, "autoencoders.viz.anomalies", BAD_COLOR)):
        if mask.any():
            traces.append(go.Histogram(x=errors[mask], name=t(key, lang), xbins=bins, marker={"color": rgba(color, 0.65)},
                                       hovertemplate="%{x}: %{y}<extra></extra>"))
    layout = {"barmode": "overlay", "bargap": 0.02,
              "xaxis": {"title": {"text": t("autoencoders.viz.recon_mse", lang)}, "zeroline": False},
              "yaxis": {"title": {"text": t("viz.count", lang)}},
              "shapes": [{"type": "line", "x0": threshold, "x1": threshold, "yref": "paper", "y0": 0, "y1": 1,
                          "line": {"color": PICK_COLOR, "width": 2, "dash": "dot"}},
                         {"type": "rect", "x0": threshold, "x1": max(float(edges[-1]), threshold), "yref": "paper",
                          "y0": 0, "y1": 1, "fillcolor": rgba(BAD_COLOR, 0.07), "line": {"width": 0}, "layer": "below"}],
              "annotations": [{"x": threshold, "y": 1, "yref": "paper", "text": t("autoencoders.viz.threshold", lang),
                               "showarrow": False, "xanchor": "left", "yanchor": "top", "font": {"size": 12}}]}
    return styled_figure(traces, layout, height=height)


def anomaly_roc_figure(fpr: np.ndarray, tpr: np.ndarray, auc: float, *, point: tuple[float, float] | None = None,
                       pca_roc: tuple[np.ndarray, np.ndarray, float] | None = None, lang: str = "en",
                       height: int = 320) -> go.Figure:
    """ROC of the reconstruction error as an anomaly score (PCA's too), with the threshold's operating point."""
    fpr_label, tpr_label = t("viz.false_positive_rate", lang), t("viz.true_positive_rate", lang)
    traces = [go.Scatter(x=[0, 1], y=[0, 1], name=t("viz.chance", lang), mode="lines", hoverinfo="skip",
                         line={"color": NEUTRAL_COLOR, "dash": "dash", "width": 1})]
    curves = [(fpr, tpr, auc, "autoencoders.viz.ae_auc", PALETTE[0])]
    if pca_roc is not None:
        curves.append((*pca_roc, "autoencoders.viz.pca_auc", PALETTE[1]))
    for x, y, a, key, color in curves:
        name = t(key, lang, auc=a)
        traces.append(go.Scatter(x=np.asarray(x, np.float32), y=np.asarray(y, np.float32), name=name, mode="lines",
                                 line={"color": color, "width": 2},
                                 hovertemplate=f"{fpr_label} %{{x:.2f}}, {tpr_label} %{{y:.2f}}<extra>{name}</extra>"))
    if point is not None:
        traces.append(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name=t("autoencoders.viz.threshold", lang),
                                 marker={"color": PICK_COLOR, "size": 11, "symbol": "circle-open", "line": {"width": 3}}))
    square = {"range": [-0.01, 1.01], "constrain": "domain", "zeroline": False, "tickformat": ".1f"}
    layout = {"xaxis": {**square, "title": {"text": fpr_label}},
              "yaxis": {**square, "title": {"text": tpr_label}, "scaleanchor": "x"},
              "legend": {"orientation": "v", "x": 0.98, "xanchor": "right", "y": 0.02, "yanchor": "bottom",
                         "bgcolor": "rgba(255,255,255,0.6)"}}
    return styled_figure(traces, layout, height=height)
