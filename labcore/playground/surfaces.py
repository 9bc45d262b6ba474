"""The playground's loss surfaces: each formula is written once and runs on numpy arrays (the contour
grid, the loss along a path) and on torch tensors (autograd gives the optimizers their gradients).

A `Surface` also carries what the page needs to show it well: a view box, a start point, its known
minima (all have loss 0 there) and learning rates that make each optimizer visibly move in ~300 steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import torch

from labcore.registry import Registry

# f(x, y, xp): xp is numpy or torch, so `xp.cos` etc. work on either kind of array.
Formula = Callable[[Any, Any, ModuleType], Any]


@dataclass(frozen=True)
class Surface:
    name: str
    formula: Formula
    box: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max of the default view
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]  # every one has f = 0
    lr: dict[str, float] = field(default_factory=dict)  # default learning rate per optimizer name

    @property
    def about_key(self) -> str:
        """Catalogue key of the one-line description shown under the surface picker."""
        return f"playground.surface_{self.name}_about"

    def numpy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):  # far-off points of a diverged path: inf/nan
            return self.formula(np.asarray(x, np.float64), np.asarray(y, np.float64), np)

    def torch(self, xy: torch.Tensor) -> torch.Tensor:
        """f at points `xy` of shape (..., 2)."""
        return self.formula(xy[..., 0], xy[..., 1], torch)

    def grid(self, n: int = 140) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xs, ys, f) on an n x n grid over the view box; f[i, j] is the loss at (xs[j], ys[i])."""
        x0, x1, y0, y1 = self.box
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        return xs, ys, self.numpy(*np.meshgrid(xs, ys))


SURFACES = Registry("surface")


def _add(surface: Surface) -> None:
    SURFACES.register(surface.name)(surface)


ORDER = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lion")


def _lrs(*values: float) -> dict[str, float]:
    """Default learning rates in ORDER, tuned so each optimizer shows its character in 300 steps
    (SGD zig-zags or crawls, momentum overshoots, Adam walks straight) and none diverges."""
    return dict(zip(ORDER, values, strict=True))


# A long narrow valley: 20x steeper across than along, the shape that makes plain SGD zig-zag.
_add(Surface("ravine", lambda x, y, xp: x**2 / 20 + y**2, (-10, 10, -5, 5), (-9.0, 3.5), ((0.0, 0.0),),
             _lrs(0.7, 0.1, 0.1, 1, 0.1, 0.3, 0.3, 0.1)))
# Rosenbrock's banana: finding the valley is easy, following its flat curved floor to (1, 1) is not.
_add(Surface("rosenbrock", lambda x, y, xp: (1 - x) ** 2 + 100 * (y - x**2) ** 2, (-2, 2, -1, 3),
             (-1.5, 2.5), ((1.0, 1.0),), _lrs(0.0015, 0.001, 0.001, 1, 0.02, 0.1, 0.1, 0.015)))
# Beale: flat plateaus and steep walls, minimum at (3, 0.5).
_add(Surface("beale", lambda x, y, xp: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
             + (2.625 - x + x * y**3) ** 2, (-4.5, 4.5, -4.5, 4.5), (0.7, 1.4), ((3.0, 0.5),),
             _lrs(0.01, 0.005, 0.005, 1, 0.05, 0.1, 0.1, 0.05)))
# Himmelblau: four equal minima; which one you reach depends on where you start and how you step.
_add(Surface("himmelblau", lambda x, y, xp: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, (-5, 5, -5, 5),
             (-0.3, -0.9), ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
             _lrs(0.01, 0.003, 0.003, 1, 0.05, 0.1, 0.1, 0.05)))
# A saddle at (0, 0) between two valleys at y = ±1: gradients vanish near it and plain SGD lingers.
_add(Surface("saddle", lambda x, y, xp: x**2 + (y**2 - 1) ** 2 / 4, (-2.5, 2.5, -2, 2), (-2.2, 0.02),
             ((0.0, 1.0), (0.0, -1.0)), _lrs(0.05, 0.02, 0.02, 0.5, 0.05, 0.05, 0.05, 0.03)))
# A bowl covered in bumps: many local minima, the lowest at the centre.
_add(Surface("bumpy", lambda x, y, xp: (x**2 + y**2) / 10 + 1 - xp.cos(2 * x) * xp.cos(2 * y), (-5, 5, -5, 5),
             (-4.2, 3.6), ((0.0, 0.0),), _lrs(0.05, 0.1, 0.1, 1, 0.1, 0.3, 0.3, 0.05)))


def surface_names() -> list[str]:
    return SURFACES.names()
