"""Scores for masks and boxes. Mask IoU and Dice per image from boolean masks (numpy); box IoU is
torchvision.ops.box_iou's, the reference implementation."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.ops import box_iou

HIT_IOU = 0.5  # a box "hits" when it overlaps the true one by at least this much (the PASCAL VOC rule)


def _flat(pred, true) -> tuple[np.ndarray, np.ndarray]:
    p, t = np.asarray(pred, dtype=bool), np.asarray(true, dtype=bool)
    if p.shape != t.shape:
        raise ValueError(f"mask shapes differ: {p.shape} vs {t.shape}")
    return p.reshape(len(p), -1), t.reshape(len(t), -1)


def mask_iou(pred, true) -> np.ndarray:
    """Intersection over union of each predicted mask with its true mask, (N,); 1 when both are empty."""
    p, t = _flat(pred, true)
    inter, union = (p & t).sum(1), (p | t).sum(1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def dice(pred, true) -> np.ndarray:
    """Dice = 2|P∩T| / (|P| + |T|) per image (the F1 score of the pixels), (N,); 1 when both are empty."""
    p, t = _flat(pred, true)
    inter, total = (p & t).sum(1), p.sum(1) + t.sum(1)
    return np.where(total > 0, 2 * inter / np.maximum(total, 1), 1.0)


def box_ious(pred: torch.Tensor, true: torch.Tensor) -> np.ndarray:
    """IoU of each predicted box with its own true box (the diagonal of torchvision.ops.box_iou), (N,)."""
    if len(pred) == 0:
        return np.zeros(0)
    return box_iou(pred.float(), true.float()).diagonal().numpy()
