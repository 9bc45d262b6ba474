"""The book's one-weight example: L(w) = (w·x − y)² with x = 2, y = 6, starting at w₀ = 1 (Eqs 3.4-3.7).

dL/dw = 2x(wx − y) = 8(w − 3), so one gradient step maps the error w − 3 to (1 − 8η)(w − 3):
η < 0.125 shrinks it without changing its sign (smooth), 0.125 < η < 0.25 flips its sign each step but
shrinks it (oscillates, still converges), η > 0.25 makes it grow (diverges). The iterates come from
`torch.optim.SGD` on a one-element tensor, like every other path in the playground.
"""

from __future__ import annotations

import numpy as np
import torch

X, Y, W0 = 2.0, 6.0, 1.0
W_STAR = Y / X  # the minimum, L = 0
SMOOTH_LIMIT = 1 / (2 * X**2)  # 0.125: above it the steps overshoot the minimum
DIVERGE_LIMIT = 1 / X**2  # 0.25: above it each overshoot is larger than the last
_TOL = 1e-9  # slider floats such as 0.12500000000000003 count as the boundary itself


def loss(w: np.ndarray | float) -> np.ndarray | float:
    return (np.asarray(w) * X - Y) ** 2


def descend(lr: float, steps: int) -> np.ndarray:
    """w after 0, 1, ..., `steps` steps of gradient descent with learning rate `lr`, via torch.optim.SGD."""
    w = torch.tensor([W0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr)
    path = [W0]
    for _ in range(steps):
        optimizer.zero_grad()
        ((w * X - Y) ** 2).sum().backward()
        optimizer.step()
        path.append(w.item())
    return np.array(path)


def factor(lr: float) -> float:
    """What one step multiplies the distance to the minimum by: 1 − 2ηx²."""
    return 1 - 2 * lr * X**2


def regime(lr: float) -> str:
    """'smooth', 'one_step' (η = 0.125 lands on w* at once), 'oscillating', 'bouncing' (η = 0.25: the same
    two points forever) or 'diverging'."""
    if abs(lr - SMOOTH_LIMIT) < _TOL:
        return "one_step"
    if abs(lr - DIVERGE_LIMIT) < _TOL:
        return "bouncing"
    if lr < SMOOTH_LIMIT:
        return "smooth"
    return "oscillating" if lr < DIVERGE_LIMIT else "diverging"
