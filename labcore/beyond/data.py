"""The shapes with what segmentation and detection learn from: each image's ground-truth mask (labcore.data.shapes
keeps it) and its box, the mask's extent."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labcore.data.shapes import DEFAULT_NOISE, make_shapes

SIZE = 32
N_TEST = 200


@dataclass(frozen=True)
class Split:
    x: torch.Tensor  # (N, 3, H, W) in [0, 1]
    labels: torch.Tensor  # (N,) shape class
    masks: torch.Tensor  # (N, H, W) float 0/1
    boxes: torch.Tensor  # (N, 4) x0, y0, x1, y1 in pixels (x1, y1 exclusive)


def boxes_from_masks(masks: np.ndarray) -> np.ndarray:
    """The tightest box around each mask, (N, 4) as x0, y0, x1, y1 in pixels, x1 and y1 one past the last pixel
    (so a one-pixel object has a box of area 1, as torchvision.ops.box_area counts). An empty mask gets a zero box."""
    masks = np.asarray(masks, dtype=bool)
    out = np.zeros((len(masks), 4), dtype=np.float32)
    for i, m in enumerate(masks):
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        if len(rows):
            out[i] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    return out


def make_split(n: int, seed: int, size: int = SIZE, noise: float = DEFAULT_NOISE) -> Split:
    x, y, masks = make_shapes(n, size, noise, seed)
    return Split(torch.from_numpy(x), torch.from_numpy(y).long(), torch.from_numpy(masks.astype(np.float32)),
                 torch.from_numpy(boxes_from_masks(masks)))


def train_test(n_train: int, seed: int = 0) -> tuple[Split, Split]:
    """Training images from `seed`, and always the same test images (another seed), so runs compare."""
    return make_split(n_train, 1000 + seed), make_split(N_TEST, 7)
