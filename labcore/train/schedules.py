"""Learning-rate schedules as step -> multiplier functions, run by torch's own `LambdaLR`.

A multiplier of the base rate (rather than a scheduler object per kind) lets the page change the
base rate mid-run and draw the schedule before training. Every schedule can start with a linear warmup.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from labcore.config import OptimConfig
from labcore.registry import Registry

SCHEDULES = Registry("schedule")
Multiplier = Callable[[int], float]


@SCHEDULES.register("constant")
def constant(cfg: OptimConfig, steps_per_epoch: int, total_steps: int) -> Multiplier:
    return lambda step: 1.0


@SCHEDULES.register("step")
def step_decay(cfg: OptimConfig, steps_per_epoch: int, total_steps: int) -> Multiplier:
    every = max(1, cfg.step_epochs) * steps_per_epoch
    return lambda step: cfg.gamma ** (step // every)


@SCHEDULES.register("exponential")
def exponential(cfg: OptimConfig, steps_per_epoch: int, total_steps: int) -> Multiplier:
    # gamma per epoch (e.g. 0.98), applied at epoch boundaries like torch's ExponentialLR.
    return lambda step: cfg.gamma ** (step // steps_per_epoch)


@SCHEDULES.register("cosine")
def cosine(cfg: OptimConfig, steps_per_epoch: int, total_steps: int) -> Multiplier:
    return lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps)))


@SCHEDULES.register("one_cycle")
def one_cycle(cfg: OptimConfig, steps_per_epoch: int, total_steps: int) -> Multiplier:
    """Smith's one-cycle, as torch's OneCycleLR: cosine up from lr/25 over 30% of steps, down to lr/1e4."""
    up = max(1, int(0.3 * total_steps))
    start, end = 1 / 25, 1 / 25 / 1e4

    def mult(step: int) -> float:
        if step <= up:
            return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * step / up))
        t = min(1.0, (step - up) / max(1, total_steps - up))
        return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * t))

    return mult


def multiplier(cfg: OptimConfig, steps_per_epoch: int, total_steps: int) -> Multiplier:
    """The schedule's multiplier with the optional linear warmup in front of it. The schedule starts when
    the warmup ends (its clock runs over the remaining steps), so the warmup climbs to the chosen rate
    itself: a cosine that decayed during the warmup peaked at 0.0467 for a chosen 0.05."""
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    if warmup <= 0 or cfg.schedule == "one_cycle":  # one-cycle has its own warmup
        return SCHEDULES.build(cfg.schedule, cfg=cfg, steps_per_epoch=steps_per_epoch, total_steps=total_steps)
    base = SCHEDULES.build(cfg.schedule, cfg=cfg, steps_per_epoch=steps_per_epoch,
                           total_steps=max(1, total_steps - warmup + 1))  # steps from the peak on
    return lambda step: base(max(0, step + 1 - warmup)) * min(1.0, (step + 1) / warmup)


def build_scheduler(optimizer: Optimizer, cfg: OptimConfig, steps_per_epoch: int, total_steps: int) -> LambdaLR:
    return LambdaLR(optimizer, multiplier(cfg, steps_per_epoch, total_steps))


def schedule_curve(cfg: OptimConfig, steps_per_epoch: int, epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, learning rates) for previewing a schedule before training."""
    total = steps_per_epoch * epochs
    mult = multiplier(cfg, steps_per_epoch, total)
    steps = np.arange(total)
    return steps, np.array([cfg.lr * mult(int(s)) for s in steps])
