"""Learning-rate finder (Smith 2015; fastai's `lr_find`): raise the lr exponentially from tiny to huge
over ~100 steps, watch the loss, and suggest the rate where it falls fastest.

The model is put back exactly as it was afterwards: the sweep is a measurement, not training.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labcore.config import RunConfig
from labcore.data import DataBundle
from labcore.models import build_model
from labcore.train.optimizers import build_optimizer
from labcore.train.trainer import pick_device

SMOOTHING = 0.9  # moving average of the loss; 0.98 (fastai) lags ~50 steps, half of a 100-step sweep
STOP_FACTOR = 4.0  # stop once the smoothed loss is this many times its best


@dataclass(frozen=True)
class LRFinderResult:
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float  # where the smoothed loss falls steepest (per unit of log lr)
    min_loss_lr: float  # where the smoothed loss is lowest; the suggestion is always below it


def find_lr(cfg: RunConfig, data: DataBundle, *, model: nn.Module | None = None, start: float = 1e-7,
            end: float = 10.0, steps: int = 100, progress: Callable[[float], None] | None = None) -> LRFinderResult:
    """Sweep the learning rate for `cfg`'s optimizer on `data`; `model` (if given) is restored after.
    `progress(fraction)` after every step (the page runs the sweep as a background job with a bar)."""
    device = pick_device(cfg.train.device)
    if model is None:
        model = build_model(cfg.model, data, seed=cfg.train.seed)
    saved = copy.deepcopy(model.state_dict())
    was_training = model.training
    model.to(device).train()
    optimizer = build_optimizer(model.parameters(), cfg.optim)
    generator = torch.Generator().manual_seed(cfg.train.seed)
    x_all, y_all = data.x_train.to(device), data.y_train.to(device)
    n, batch = len(y_all), max(2, min(cfg.train.batch_size, len(y_all)))
    order = torch.randperm(n, generator=generator)
    lrs, losses, smoothed = [], [], []
    avg, best = 0.0, math.inf
    try:
        for i in range(steps):
            lr = start * (end / start) ** (i / max(1, steps - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            lo = (i * batch) % n
            if lo + batch > n:  # a new pass over the data: reshuffle
                order, lo = torch.randperm(n, generator=generator), 0
            idx = order[lo : lo + batch]
            x = x_all[idx].float() / 255 if x_all.dtype == torch.uint8 else x_all[idx]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y_all[idx])
            loss.backward()
            optimizer.step()
            value = loss.item()
            if progress is not None:
                progress((i + 1) / steps)
            if not math.isfinite(value):
                break
            avg = SMOOTHING * avg + (1 - SMOOTHING) * value
            smooth = avg / (1 - SMOOTHING ** (i + 1))  # bias-corrected, like Adam's moments
            lrs.append(lr)
            losses.append(value)
            smoothed.append(smooth)
            best = min(best, smooth)
            if smooth > STOP_FACTOR * best and i > 5:
                break
    finally:
        model.load_state_dict(saved)
        model.train(was_training)
    lrs_a, smooth_a = np.array(lrs), np.array(smoothed)
    return LRFinderResult(lrs_a, np.array(losses), smooth_a, *_suggest(lrs_a, smooth_a))


def _suggest(lrs: np.ndarray, smoothed: np.ndarray) -> tuple[float, float]:
    if len(lrs) < 5:
        return float(lrs[0]) if len(lrs) else 1e-3, float(lrs[-1]) if len(lrs) else 1e-3
    low = int(np.argmin(smoothed))
    # Steepest descent of the smoothed loss per unit of log10(lr), left of the minimum. The first tenth
    # is skipped: there the average has seen only a few batches and its wiggles look like steep drops.
    skip = len(lrs) // 10
    slope = np.gradient(smoothed, np.log10(lrs))
    if low - skip < 2:
        return float(lrs[low]) / 10, float(lrs[low])
    steep = skip + int(np.argmin(slope[skip:low]))
    return float(lrs[steep]), float(lrs[low])
