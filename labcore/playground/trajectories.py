"""Run several real optimizers side by side on a 2-D surface and record where each one goes.

Every optimizer is the genuine `torch.optim` class built from the lab's registry (labcore's own Lion for
Lion, `SwitchableAdam` for Adam without bias correction), stepping its own two-parameter tensor with
gradients from autograd. Two things keep 8 optimizers x 300 steps well under 0.2 s on a laptop CPU:

- one autograd call per step for all optimizers together (the surface is evaluated at a (K, 2) batch),
- no per-step bookkeeping per optimizer: each parameter is a row of one (K, 2) tensor and each `.grad`
  a row of another, so a step is "copy the K gradients in, call `step()` K times, copy the rows out".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from labcore.playground.config import OptimizerSetup
from labcore.playground.surfaces import Surface
from labcore.train.optimizers import OPTIMIZERS, SwitchableAdam

FAR = 10.0  # a path further than this many view-box sizes from the box is called diverged and stopped


@dataclass(frozen=True)
class Trajectory:
    setup: OptimizerSetup
    xy: np.ndarray  # (steps + 1, 2): the start, then the point after each step; NaN once diverged
    loss: np.ndarray  # (steps + 1,) f at each point
    diverged_at: int | None = None  # first step that went non-finite or far off

    @property
    def name(self) -> str:
        return self.setup.name

    @property
    def last(self) -> int:
        """Index of the last point that was drawn (the end of the path)."""
        return len(self.xy) - 1 if self.diverged_at is None else self.diverged_at - 1


def build_optimizer(setup: OptimizerSetup, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    cfg = setup.config
    if cfg.name == "adam" and not setup.bias_correction:
        return SwitchableAdam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps,
                              weight_decay=cfg.weight_decay, bias_correction=False)
    return OPTIMIZERS.get(cfg.name).build(params, cfg)


def bare_step(optimizer: torch.optim.Optimizer) -> Callable[[], object]:
    """`optimizer.step` without torch's profiling wrapper: the same update code, minus a profiler label
    and a walk over step hooks (none are registered here) that take ~40% of a two-parameter step."""
    step = type(optimizer).step
    return getattr(step, "__wrapped__", step).__get__(optimizer)


def run(surface: Surface, setups: Sequence[OptimizerSetup], start: tuple[float, float],
        steps: int) -> list[Trajectory]:
    """Each optimizer in `setups` takes `steps` steps on `surface` from `start`."""
    k = len(setups)
    if k == 0:
        return []
    # Parameters: rows of one tensor. Rows are leaf tensors (nothing here requires grad), so torch.optim
    # accepts them, and its in-place updates land in `position`, ready to read all at once.
    position = torch.tensor([start] * k, dtype=torch.float64)
    grads = torch.zeros_like(position)
    params = list(position.unbind(0))
    for p, g in zip(params, grads.unbind(0), strict=True):
        p.grad = g  # a view: writing `grads` hands every optimizer its new gradient
    steppers = [bare_step(build_optimizer(s, [p])) for s, p in zip(setups, params, strict=True)]

    history = torch.empty((steps + 1, k, 2), dtype=torch.float64)
    history[0] = position
    for step in range(1, steps + 1):
        x = position.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(surface.torch(x).sum(), x)
        grads.copy_(g)
        for optimizer_step in steppers:
            optimizer_step()
        history[step] = position
    # Rows are independent, so a path that blew up (inf, nan) never disturbs the others; it is cut here,
    # at its first non-finite or far-off point, rather than checked for inside the loop.
    xy = history.numpy()
    x0, x1, y0, y1 = surface.box
    reach = FAR * max(x1 - x0, y1 - y0)
    with np.errstate(invalid="ignore"):
        off = ~(np.abs(xy - [(x0 + x1) / 2, (y0 + y1) / 2]).max(axis=2) <= reach)  # nan counts as off
    first_off = np.where(off.any(axis=0), off.argmax(axis=0), -1)
    for i, at in enumerate(first_off):
        if at > 0:
            xy[at:, i] = np.nan
    loss = surface.numpy(xy[..., 0], xy[..., 1])
    return [Trajectory(s, xy[:, i], loss[:, i], int(first_off[i]) if first_off[i] > 0 else None)
            for i, s in enumerate(setups)]


class PathCache:
    """Paths of one scene (surface, start, steps), remembered per optimizer setup: moving one optimizer's
    slider recomputes that optimizer alone, and a new scene (or a full cache) starts afresh."""

    def __init__(self, max_paths: int = 64):
        self.max_paths = max_paths
        self._scene: tuple | None = None
        self._paths: dict[OptimizerSetup, Trajectory] = {}

    def paths(self, surface: Surface, setups: Sequence[OptimizerSetup], start: tuple[float, float],
              steps: int) -> list[Trajectory]:
        scene = (surface.name, tuple(start), steps)
        if scene != self._scene or len(self._paths) + len(setups) > self.max_paths:
            self._scene, self._paths = scene, {}
        missing = [s for s in dict.fromkeys(setups) if s not in self._paths]
        self._paths.update((t.setup, t) for t in run(surface, missing, start, steps))
        return [self._paths[s] for s in setups]
