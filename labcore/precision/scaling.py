"""Loss scaling (lesson 18): gradients computed in float16 underflow to zero; multiplying the loss by a scale
first lifts them into float16's range, and dividing the float32 gradients by it afterwards gives them back.

Everything runs on the CPU: the forward and backward go through torch.autocast("cpu", dtype=torch.float16), so
the matrix products and their gradients are float16 operations (as under CUDA AMP), on float32 parameters. The
model is the digits MLP, trained briefly in float32 first: late in training the loss, and so the gradients, are
small, which is when underflow bites.
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

from labcore.config import DataConfig
from labcore.data import load_dataset
from labcore.models import build_model, default_config

FP16 = torch.finfo(torch.float16)
ZERO_LOG2 = math.log2(float(FP16.smallest_normal) * float(FP16.eps))  # −24: below half of this, float16 holds 0
NORMAL_LOG2 = math.log2(float(FP16.smallest_normal))  # −14: below, subnormal (fewer mantissa bits)
MAX_LOG2 = math.log2(float(FP16.max))  # ≈ 16: above, inf
SCALE_POWERS = tuple(range(17))  # the static scale slider: 2^0 .. 2^16
PRETRAIN_STEPS = 300  # full-batch Adam steps: the loss falls to about 1e-4 (about 0.7 s on one core)
BATCH = 256


@dataclass(frozen=True)
class Study:
    model: nn.Module  # the trained MLP (never changed after this; copies take the gradients)
    x: torch.Tensor
    y: torch.Tensor
    reference: np.ndarray  # every gradient entry, computed in float32
    loss: float


@dataclass(frozen=True)
class Outcome:
    scale: float
    grads: np.ndarray  # the float16 backward's gradients, divided by the scale again
    zero: float  # fraction of the nonzero float32 gradients that came out exactly 0
    subnormal: float  # fraction that sat below float16's smallest normal while scaled (fewer bits kept)
    overflow: int  # entries that became inf or nan: a scaler would skip this step and lower the scale
    median_rel_error: float  # median |g16 − g32| / |g32| over the gradients that survived


def _single_thread():
    from labcore.explain.features import single_thread

    return single_thread()


def study(seed: int = 0, steps: int = PRETRAIN_STEPS, progress: Callable[[float], None] | None = None) -> Study:
    """The digits MLP after `steps` full-batch float32 Adam steps, and its float32 gradients on BATCH examples."""
    with _single_thread():
        data = load_dataset(DataConfig(name="digits"))
        model = build_model(default_config("mlp"), data, seed=seed)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for step in range(steps):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(data.x_train), data.y_train).backward()
            opt.step()
            if progress is not None and step % 20 == 19:
                progress((step + 1) / steps)
        model.eval()
        x, y = data.x_train[:BATCH], data.y_train[:BATCH]
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        ref = _flat(model)
        model.zero_grad(set_to_none=True)
    return Study(model, x, y, ref, loss.item())


def _flat(model: nn.Module) -> np.ndarray:
    return torch.cat([p.grad.detach().flatten().float() for p in model.parameters()]).numpy().copy()


def fp16_backward(s: Study, scale: float) -> Outcome:
    """One forward and backward under float16 autocast with the loss multiplied by `scale`; the gradients are
    divided by `scale` in float32 afterwards (exact for a power of two), as GradScaler.unscale_ does."""
    with _single_thread():
        model = copy.deepcopy(s.model)
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(s.x), s.y)
        (loss * scale).backward()
        scaled = _flat(model)
    grads = scaled / np.float32(scale)
    ref = s.reference
    live = ref != 0
    finite = np.isfinite(scaled)
    survived = live & finite & (scaled != 0)
    rel = np.abs(grads[survived] - ref[survived]) / np.abs(ref[survived])
    tiny = float(FP16.smallest_normal)
    return Outcome(scale=float(scale), grads=grads,
                   zero=float(np.mean(scaled[live] == 0)) if live.any() else 0.0,
                   subnormal=float(np.mean((np.abs(scaled[live]) < tiny) & (scaled[live] != 0))) if live.any() else 0.0,
                   overflow=int(np.sum(~finite)),
                   median_rel_error=float(np.median(rel)) if rel.size else math.nan)


def log2_magnitudes(grads: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """log2 |g × scale| of the nonzero gradients: where each lands on float16's exponent line."""
    g = np.abs(grads[grads != 0].astype(np.float64)) * scale
    return np.log2(g)


@dataclass(frozen=True)
class Dynamic:
    scales: list[float]  # GradScaler's scale used at each step
    skipped: list[bool]  # the step found inf/nan gradients: no update, scale halved
    losses: list[float]
    init_scale: float
    growth_interval: int


def dynamic_scaling(steps: int = 120, init_scale: float = 2.0**24, growth_interval: int = 20, seed: int = 0,
                    progress: Callable[[float], None] | None = None) -> Dynamic:
    """Train the digits MLP from scratch under float16 autocast with torch.amp.GradScaler("cpu"): its scale
    halves after every step whose gradients overflowed (that step is skipped) and doubles after
    `growth_interval` good steps in a row. PyTorch's defaults are 2^16 and 2000; a high start and a short
    interval make both moves visible in a short run."""
    with _single_thread():
        data = load_dataset(DataConfig(name="digits"))
        model = build_model(default_config("mlp"), data, seed=seed)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=growth_interval)
        g = torch.Generator().manual_seed(seed)
        n = len(data.y_train)
        scales, skipped, losses = [], [], []
        for step in range(steps):
            idx = torch.randint(0, n, (64,), generator=g)
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.float16):
                loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            before = scaler.get_scale()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            scales.append(before)
            skipped.append(scaler.get_scale() < before)
            losses.append(loss.item())
            if progress is not None and step % 10 == 9:
                progress((step + 1) / steps)
    return Dynamic(scales, skipped, losses, init_scale, growth_interval)
