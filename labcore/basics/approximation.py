"""Universal approximation (the book's lesson 2): one hidden layer with enough neurons fits any reasonable 1-D
function; more neurons, a closer fit. And width vs depth: at the same number of weights, a deeper net often
fits a wiggly function better.

`fit` trains a real `nn.Sequential` MLP with Adam on 200 points (full batch) and reports the fit, its error
and the loss per step; the page runs it as a background task (about a second on 2 cores).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from labcore.i18n import LabError
from labcore.seeding import init_rng

TARGETS = ("sine", "step", "abs", "wiggle", "points")
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
X_RANGE = (-3.0, 3.0)
N_POINTS = 200
MAX_POINTS = 20
DEFAULT_POINTS = "-3 0, -2 1, -1 -1, 0 0.5, 1 -0.5, 2 1, 3 0"

_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": np.sin,
    "step": lambda x: np.where(x < 0, -1.0, 1.0),
    "abs": lambda x: np.abs(x) - 1.5,
    "wiggle": lambda x: np.sin(3 * x) + 0.5 * np.cos(7 * x),
}


def parse_points(text: str) -> np.ndarray:
    """Typed points "x y, x y, ..." -> (n, 2), sorted by x; LabError("neurons.points_bad") unless there are 2 to
    MAX_POINTS pairs of finite numbers with x inside X_RANGE and distinct x values."""
    try:
        pairs = [tuple(float(v) for v in part.split()) for part in text.split(",") if part.strip()]
    except ValueError:
        pairs = []
    ok = (2 <= len(pairs) <= MAX_POINTS and all(len(p) == 2 and all(math.isfinite(v) for v in p) for p in pairs)
          and all(X_RANGE[0] <= p[0] <= X_RANGE[1] and abs(p[1]) <= 10 for p in pairs)
          and len({p[0] for p in pairs}) == len(pairs))
    if not ok:
        raise LabError("neurons.points_bad", most=MAX_POINTS, lo=X_RANGE[0], hi=X_RANGE[1])
    return np.array(sorted(pairs))


def target(name: str, x: np.ndarray, points: np.ndarray | None = None) -> np.ndarray:
    """The function to fit at `x`; "points" joins the typed points by straight lines."""
    if name == "points":
        pts = points if points is not None else parse_points(DEFAULT_POINTS)
        return np.interp(x, pts[:, 0], pts[:, 1])
    return _FUNCTIONS[name](x)


def mlp(hidden: tuple[int, ...], activation: str = "tanh") -> nn.Sequential:
    """1 input -> the hidden layers -> 1 output."""
    layers: list[nn.Module] = []
    width = 1
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def same_budget_deep(width: int, layers: int = 3) -> tuple[int, ...] | None:
    """`layers` hidden layers of equal width with as many weights as one hidden layer of `width` (3w + 1) allows,
    never more; None when even one neuron per layer is too many (widths 1 and 2)."""
    budget = count(mlp((width,)))
    fits = [h for h in range(1, width + 1) if count(mlp((h,) * layers)) <= budget]
    return (max(fits),) * layers if fits else None


@dataclass
class Fit:
    hidden: tuple[int, ...]
    params: int
    x: np.ndarray  # where the curve is drawn (N_POINTS, evenly spaced over X_RANGE)
    y: np.ndarray  # the target there
    fit: np.ndarray  # the network's output there
    mse: float  # mean squared error over those points after training
    losses: np.ndarray  # training loss per step


def fit(name: str, hidden: tuple[int, ...], activation: str = "tanh", *, steps: int = 1500, lr: float = 0.01,
        seed: int = 0, points: np.ndarray | None = None,
        progress: Callable[[float], None] | None = None) -> Fit:
    """Train an MLP with hidden layers `hidden` on the target for `steps` full-batch Adam steps."""
    x = np.linspace(*X_RANGE, N_POINTS)
    y = target(name, x, points)
    with init_rng(seed):
        model = mlp(hidden, activation)
    xt = torch.tensor(x, dtype=torch.float32)[:, None]
    yt = torch.tensor(y, dtype=torch.float32)[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = np.empty(steps)
    for step in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xt), yt)
        loss.backward()
        opt.step()
        losses[step] = loss.item()
        if progress is not None and step % 100 == 99:
            progress((step + 1) / steps)
    with torch.no_grad():
        out = model(xt)[:, 0].numpy().astype(np.float64)
    return Fit(tuple(hidden), count(model), x, y, out, float(np.mean((out - y) ** 2)), losses)


def compare(name: str, width: int, activation: str = "tanh", *, seed: int = 0, points: np.ndarray | None = None,
            progress: Callable[[float], None] | None = None) -> tuple[Fit, Fit]:
    """One hidden layer of `width` neurons, and three hidden layers with no more weights in all (see
    `same_budget_deep`: not for widths 1 and 2)."""
    deep_hidden = same_budget_deep(width)
    if deep_hidden is None:
        raise ValueError(f"no three-layer net has at most {count(mlp((width,)))} weights")
    half = (lambda f: progress(f / 2)) if progress else None
    wide = fit(name, (width,), activation, seed=seed, points=points, progress=half)
    rest = (lambda f: progress(0.5 + f / 2)) if progress else None
    deep = fit(name, deep_hidden, activation, seed=seed, points=points, progress=rest)
    return wide, deep
