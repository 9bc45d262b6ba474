"""Plotly figures for the Beyond classification page: data from labcore.beyond in, a Figure out, text from the
catalogue's `beyond.viz` table."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labcore.beyond.metrics import HIT_IOU
from labcore.beyond.nms import NmsResult
from labcore.beyond.train import EpochScores, Outcome
from labcore.i18n import is_rtl, t
from labcore.viz.images import image_grid_figure, png_data_uri
from labcore.viz.theme import BAD_COLOR, GOOD_COLOR, NEUTRAL_COLOR, PALETTE, TRAIN_COLOR, VAL_COLOR, styled_figure

TRUE_COLOR = "#2CA02C"
FP, FN = np.array([0.85, 0.15, 0.15]), np.array([0.2, 0.45, 0.95])  # extra pixels red, missed pixels blue


def _line(x, y, name: str, color: str, dash: str | None = None, **more) -> go.Scatter:
    return go.Scatter(x=x, y=y, mode="lines+markers", name=name, line={"color": color, "width": 2, "dash": dash},
                      marker={"size": 5}, **more)


def curves_figure(history: list[EpochScores], task: str, epochs: int, *, lang: str = "en") -> go.Figure:
    """Left: training and test loss per epoch; right: the test scores (IoU and Dice, or box IoU, class accuracy
    and hits). Epoch 0 is the untrained net."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12)
    x = [h.epoch for h in history]
    trained = [h for h in history if h.epoch > 0]
    fig.add_trace(_line([h.epoch for h in trained], [h.train_loss for h in trained], t("beyond.viz.train_loss", lang),
                        TRAIN_COLOR), 1, 1)
    fig.add_trace(_line(x, [h.test_loss for h in history], t("beyond.viz.test_loss", lang), VAL_COLOR), 1, 1)
    if task == "detect":
        fig.add_trace(_line(x, [h.cls_loss for h in history], t("beyond.viz.cls_loss", lang), VAL_COLOR, "dot"), 1, 1)
        fig.add_trace(_line(x, [h.box_loss for h in history], t("beyond.viz.box_loss", lang), VAL_COLOR, "dash"), 1, 1)
        scores = (("iou", "box_iou", PALETTE[2]), ("accuracy", "accuracy", PALETTE[3]), ("hits", "hits", PALETTE[4]))
    else:
        scores = (("iou", "mask_iou", PALETTE[2]), ("dice", "dice", PALETTE[3]))
    for field, key, color in scores:
        fig.add_trace(_line(x, [getattr(h, field) for h in history], t(f"beyond.viz.{key}", lang), color), 1, 2)
    fig.update_xaxes(title_text=t("beyond.viz.epoch", lang), range=[-0.3, epochs + 0.3], dtick=1 if epochs <= 12 else None)
    fig.update_yaxes(rangemode="tozero", title_text=t("beyond.viz.losses", lang), row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], title_text=t("beyond.viz.scores", lang), row=1, col=2)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0})
    return styled_figure(list(fig.data), fig.layout.to_plotly_json(), height=380, hovermode="x unified", lang=lang)


def _errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """(N, 3, H, W): right object pixels white, extra ones red, missed ones blue, right background black."""
    out = np.zeros((*pred.shape[:1], 3, *pred.shape[1:]), np.float32)
    tp, fp, fn = pred & true, pred & ~true, ~pred & true
    out += tp[:, None] * 1.0 + fp[:, None] * FP[None, :, None, None] + fn[:, None] * FN[None, :, None, None]
    return out


def gallery_figure(out: Outcome, order: np.ndarray, class_names: list[str], *, lang: str = "en") -> go.Figure:
    """Segmentation: for the test images `order`, a row of images, a row of true masks and a row of predicted
    masks (extra pixels red, missed ones blue), each prediction titled with its IoU."""
    x = out.test.x.numpy()[order]
    true = out.test.masks.numpy()[order] > 0.5
    pred = out.pred_masks[order]
    n = len(order)
    tiles = np.concatenate([x, np.repeat(true[:, None], 3, 1).astype(np.float32), _errors(pred, true)])
    labels = out.test.labels.numpy()[order]
    titles = ([class_names[k] for k in labels] + [""] * n
              + [t("beyond.viz.iou_value", lang, iou=f"{out.iou[i]:.2f}") for i in order])
    colors = [None] * 2 * n + [GOOD_COLOR if out.iou[i] >= HIT_IOU else BAD_COLOR for i in order]
    return image_grid_figure(tiles, titles=titles, title_colors=colors, cols=n, lang=lang, height=400)


def _canvas(images: np.ndarray, cols: int, up: int, pad: int, band: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Tiles (N, 3, S, S) enlarged `up` times on a grid, each with a band above it for a title; tile corners."""
    n, _, s, _ = images.shape
    rows, side = math.ceil(n / cols), s * up
    canvas = np.zeros((rows * (side + band + pad), cols * (side + pad) - pad, 4), np.uint8)
    corners = []
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        y0, x0 = r * (side + band + pad) + band, c * (side + pad)
        tile = (np.clip(img.transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8).repeat(up, 0).repeat(up, 1)
        canvas[y0:y0 + side, x0:x0 + side, :3], canvas[y0:y0 + side, x0:x0 + side, 3] = tile, 255
        corners.append((y0, x0))
    return canvas, corners


def _rect(box, y0: int, x0: int, up: int, color: str, dash: str = "solid", width: float = 2) -> dict:
    return {"type": "rect", "x0": x0 + box[0] * up - 0.5, "y0": y0 + box[1] * up - 0.5, "x1": x0 + box[2] * up - 0.5,
            "y1": y0 + box[3] * up - 0.5, "line": {"color": color, "width": width, "dash": dash}, "xref": "x", "yref": "y"}


def _picture(canvas: np.ndarray, shapes: list, annotations: list, height: int, lang: str) -> go.Figure:
    h, w = canvas.shape[:2]
    uri = png_data_uri(canvas)
    image = go.Image(**({"source": uri} if uri else {"z": canvas, "colormodel": "rgba256"}), hoverinfo="skip")
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    layout = {"xaxis": {**hidden, "range": [-0.5, w - 0.5], "constrain": "domain"},
              "yaxis": {**hidden, "range": [h - 0.5, -0.5], "scaleanchor": "x", "constrain": "domain"},
              "shapes": shapes, "annotations": annotations, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
              "showlegend": False, "plot_bgcolor": "rgba(0,0,0,0)"}
    return styled_figure([image], layout, height=height, lang=lang)


def boxes_figure(out: Outcome, order: np.ndarray, class_names: list[str], *, cols: int = 4,
                 lang: str = "en") -> go.Figure:
    """Detection: test images with the true box (dashed) and the predicted one (green when the class is right and
    IoU ≥ 0.5, red otherwise), titled with the predicted class and the IoU."""
    up, pad, band = 4, 6, 22
    canvas, corners = _canvas(out.test.x.numpy()[order], cols, up, pad, band)
    shapes, notes = [], []
    for (y0, x0), i in zip(corners, order, strict=True):
        right = out.pred_labels[i] == int(out.test.labels[i])
        hit = bool(right and out.iou[i] >= HIT_IOU)
        color = GOOD_COLOR if hit else BAD_COLOR
        shapes.append(_rect(out.test.boxes[i].numpy(), y0, x0, up, "white", "dash", 2))
        shapes.append(_rect(out.pred_boxes[i], y0, x0, up, color, "solid", 3))
        text = t("beyond.viz.box_title", lang, shape=class_names[out.pred_labels[i]], iou=f"{out.iou[i]:.2f}")
        notes.append({"text": text, "x": x0 + 16 * up, "y": y0 - band / 2, "xref": "x", "yref": "y",
                      "showarrow": False, "font": {"size": 12, "color": color}})
    return _picture(canvas, shapes, notes, height=int(canvas.shape[0] * 1.15), lang=lang)


def nms_figure(r: NmsResult, score_threshold: float, *, lang: str = "en") -> go.Figure:
    """Left: every candidate box (thicker = higher score); right: what NMS keeps, with scores, true boxes dashed."""
    up, pad, band = 4, 16, 24
    canvas, corners = _canvas(np.stack([r.image, r.image]), 2, up, pad, band)
    if is_rtl(lang):  # read from the right: the candidates first, on the right
        corners = corners[::-1]
    shapes, notes = [], []
    for k, (y0, x0) in enumerate(corners):
        title = t("beyond.viz.nms_before" if k == 0 else "beyond.viz.nms_after", lang,
                  n=len(r.boxes) if k == 0 else len(r.kept))
        notes.append({"text": f"<b>{title}</b>", "x": x0 + 32 * up, "y": y0 - band / 2, "xref": "x", "yref": "y",
                      "showarrow": False, "font": {"size": 13}})
    y0, x0 = corners[0]
    for box, score in zip(r.boxes, r.scores, strict=True):
        faded = score < score_threshold
        shapes.append(_rect(box, y0, x0, up, NEUTRAL_COLOR if faded else "#FFD54F", "dot" if faded else "solid",
                            1 + 2.5 * float(score)))
    y0, x0 = corners[1]
    for box in r.truth:
        shapes.append(_rect(box, y0, x0, up, "white", "dash", 2))
    for rank, i in enumerate(r.kept):
        color = PALETTE[rank % len(PALETTE)]
        shapes.append(_rect(r.boxes[i], y0, x0, up, color, "solid", 3))
        notes.append({"text": f"{r.scores[i]:.2f}", "x": x0 + r.boxes[i][0] * up + 2, "y": y0 + r.boxes[i][1] * up + 8,
                      "xref": "x", "yref": "y", "showarrow": False, "xanchor": "left",
                      "font": {"size": 11, "color": color}, "bgcolor": "rgba(0,0,0,0.55)"})
    return _picture(canvas, shapes, notes, height=int(canvas.shape[0] * 1.3), lang=lang)
