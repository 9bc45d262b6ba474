"""Synthetic shapes: a circle, square, triangle or cross of random place, size and colour on a noisy
background. Deterministic from the seed, and each image keeps its ground-truth mask, so explanation
methods can be scored on whether they light up the object.
"""

from __future__ import annotations

import numpy as np

from labcore.config import DataConfig
from labcore.data.bundle import DatasetInfo, make_bundle, register, split_arrays

SHAPE_NAMES = ("circle", "square", "triangle", "cross")
DEFAULT_SIZE, DEFAULT_NOISE = 2000, 0.08


def _shape_masks(kind: np.ndarray, cx, cy, r, size: int) -> np.ndarray:
    """Boolean masks (N, H, W) for per-image shape kind, centre and radius (all (N, 1, 1))."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dx, dy = xx[None] - cx, yy[None] - cy
    circle = dx**2 + dy**2 <= r**2
    square = (np.abs(dx) <= 0.8 * r) & (np.abs(dy) <= 0.8 * r)
    # Upward triangle: apex at cy - r, base at cy + 0.8 r, half-width r at the base.
    depth = (dy + r) / (1.8 * r)
    triangle = (dy <= 0.8 * r) & (depth >= 0) & (np.abs(dx) <= depth * r)
    arm = 0.3 * r
    cross = ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))
    k = kind[:, None, None]
    return np.where(k == 0, circle, np.where(k == 1, square, np.where(k == 2, triangle, cross)))


def _random_colours(rng, n: int, bright: np.ndarray) -> np.ndarray:
    """Random hues; `bright` picks a light (0.65..1) or dark (0..0.35) luminance band per image."""
    rgb = rng.uniform(0, 1, size=(n, 3)).astype(np.float32)
    lum = rgb.mean(1, keepdims=True)
    target = np.where(bright[:, None], rng.uniform(0.65, 0.95, (n, 1)), rng.uniform(0.05, 0.35, (n, 1)))
    return np.clip(rgb - lum + target, 0, 1)


def make_shapes(n: int, size: int = 32, noise: float = DEFAULT_NOISE, seed: int = 0):
    """Generate `n` RGB images (n, 3, size, size) in [0, 1], labels (n,) and masks (n, size, size)."""
    rng = np.random.default_rng(seed)
    kind = np.arange(n) % len(SHAPE_NAMES)
    rng.shuffle(kind)
    r = rng.uniform(0.15, 0.3, size=n) * size
    cx = rng.uniform(r, size - r)
    cy = rng.uniform(r, size - r)
    masks = _shape_masks(kind, cx[:, None, None], cy[:, None, None], r[:, None, None], size)
    light_object = rng.random(n) < 0.5  # object and background always sit in opposite luminance bands
    fg = _random_colours(rng, n, light_object)
    bg = _random_colours(rng, n, ~light_object)
    img = np.where(masks[:, None], fg[:, :, None, None], bg[:, :, None, None]).astype(np.float32)
    img += rng.normal(0, noise, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 1), kind, masks


def _info(cfg: DataConfig) -> DatasetInfo:
    s = 64 if cfg.image_size >= 64 else 32
    return DatasetInfo("shapes", "image", (3, s, s), SHAPE_NAMES)


@register("shapes", _info)
def shapes(cfg: DataConfig):
    """Synthetic shapes 32x32 or 64x64 (2,000 by default), with masks for localisation checks."""
    info = _info(cfg)
    noise = DEFAULT_NOISE if cfg.noise < 0 else cfg.noise
    x, y, masks = make_shapes(cfg.n_samples or DEFAULT_SIZE, info.input_shape[-1], noise, cfg.seed)
    train, val, test = split_arrays(x, y, cfg, masks)
    return make_bundle(info, (train, val, test), masks_test=test[2], masks_val=val[2])
