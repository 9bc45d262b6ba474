"""Non-maximum suppression on a made-up detector's output: a 64×64 picture with three shapes (two of them
overlapping), several scored candidate boxes around each (a real detector proposes many per object) and a few
stray ones. torchvision.ops.nms keeps the best box and drops every other box overlapping it by more than the
threshold, then repeats with the next best box left."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import box_iou, nms

from labcore.beyond.data import boxes_from_masks
from labcore.data.shapes import _shape_masks

SIZE = 64
IOU_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SCORE_THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
PER_OBJECT, STRAYS = 6, 5
# circle, square, cross: centres and radii in pixels; the first two overlap
OBJECTS = ((0, 21.0, 22.0, 11.0), (1, 30.0, 30.0, 10.0), (3, 49.0, 49.0, 9.0))
COLOURS = ((0.95, 0.75, 0.2), (0.3, 0.7, 0.95), (0.9, 0.35, 0.45))


@dataclass(frozen=True)
class NmsResult:
    image: np.ndarray  # (3, H, W)
    truth: np.ndarray  # (K, 4) true boxes
    boxes: np.ndarray  # (M, 4) candidates
    scores: np.ndarray  # (M,)
    kept: np.ndarray  # indices of the candidates NMS keeps, best first
    found: np.ndarray  # (K,) bool: a kept box overlaps this object by IoU >= 0.5
    duplicates: int  # kept boxes beyond the first on an object already found
    strays: int  # kept boxes that match no object (IoU < 0.5 with every true box)


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image, true boxes, candidate boxes, scores): jittered candidates around each object, the tighter the
    higher their score, plus a few low-scoring strays. Deterministic from `seed`."""
    rng = np.random.default_rng(seed)
    kind = np.array([o[0] for o in OBJECTS])
    cx, cy, r = (np.array([o[i] for o in OBJECTS])[:, None, None] for i in (1, 2, 3))
    masks = _shape_masks(kind, cx, cy, r, SIZE)
    image = np.full((3, SIZE, SIZE), 0.15, np.float32)
    for m, colour in zip(masks, COLOURS, strict=True):
        image[:, m] = np.array(colour, np.float32)[:, None]
    image = np.clip(image + rng.normal(0, 0.03, image.shape).astype(np.float32), 0, 1)
    truth = boxes_from_masks(masks)
    boxes, scores = [], []
    for box in truth:
        w, h = box[2] - box[0], box[3] - box[1]
        for _ in range(PER_OBJECT):
            shift = rng.normal(0, 0.12, 4) * np.array([w, h, w, h])
            boxes.append(box + shift)
            scores.append(0.95 - 1.2 * np.abs(shift / np.array([w, h, w, h])).mean() - rng.uniform(0, 0.1))
    for _ in range(STRAYS):
        x0, y0 = rng.uniform(0, SIZE - 16, 2)
        s = rng.uniform(8, 16)
        boxes.append(np.array([x0, y0, x0 + s, y0 + s]))
        scores.append(rng.uniform(0.05, 0.45))
    boxes = np.clip(np.array(boxes, np.float32), 0, SIZE)
    return image, truth, boxes, np.clip(np.array(scores, np.float32), 0.01, 0.99)


def run_nms(iou_threshold: float, score_threshold: float = 0.0, seed: int = 0) -> NmsResult:
    """Drop candidates scoring below `score_threshold`, then torchvision.ops.nms at `iou_threshold`."""
    image, truth, boxes, scores = scene(seed)
    idx = np.flatnonzero(scores >= score_threshold)
    keep = nms(torch.from_numpy(boxes[idx]), torch.from_numpy(scores[idx]), iou_threshold).numpy()
    kept = idx[keep]
    overlap = box_iou(torch.from_numpy(boxes[kept]), torch.from_numpy(truth)).numpy() if len(kept) else np.zeros((0, 3))
    best = overlap.argmax(1) if len(kept) else np.zeros(0, int)
    on_object = overlap.max(1) >= 0.5 if len(kept) else np.zeros(0, bool)
    found = np.array([bool(np.any(on_object & (best == k))) for k in range(len(truth))])
    duplicates = int(on_object.sum() - found.sum())
    return NmsResult(image, truth, boxes, scores, kept, found, duplicates, int((~on_object).sum()))
