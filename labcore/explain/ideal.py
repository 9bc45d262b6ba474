"""The "ideal" image of a class: start from grey noise and change the pixels to raise the class score.

Left alone, gradient ascent finds high-frequency noise that the network happens to love. Three
regularisers make the result more image-like: total variation (neighbouring pixels should agree),
an L2 pull towards grey, and jitter (a random shift each step, so the pattern must work anywhere).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from labcore.explain.locking import exclusive


@dataclass(frozen=True, eq=False)
class IdealResult:
    image: np.ndarray  # (C, H, W) in [0, 1]
    snapshots: np.ndarray  # (S, C, H, W): the image at evenly spaced steps, the last one included
    snapshot_steps: list[int]
    probability: np.ndarray  # (steps,) probability of the class after each step
    target: int


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels, over (..., H, W)."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


@exclusive
def ideal_image(model: nn.Module, target: int, shape: tuple[int, ...], *, steps: int = 150, lr: float = 0.05,
                tv_weight: float = 0.5, l2_weight: float = 0.01, jitter: int = 2, seed: int = 0,
                n_snapshots: int = 6, progress: Callable[[float], None] | None = None) -> IdealResult:
    """Gradient ascent on the input for class `target`'s logit, with the regularisers above.
    `progress(fraction)` is called after every step (a background task shows it as a bar)."""
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    x = (0.5 + 0.05 * torch.randn((1, *shape), generator=gen)).to(device).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    keep = set(np.linspace(0, steps - 1, n_snapshots).round().astype(int).tolist())
    snapshots, taken, probability = [], [], []
    for step in range(steps):
        dx, dy = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen)) if jitter else (0, 0)
        shifted = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
        # Ascend the logit, not the probability: the softmax saturates and its gradient vanishes.
        logit = model(shifted)[0, target]
        # Both penalties are sums over pixels, so their weights compare directly with the logit.
        loss = -logit + tv_weight * x[0].numel() * total_variation(x) + l2_weight * ((x - 0.5) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
            probability.append(float(torch.softmax(model(x), 1)[0, target]))
        if step in keep:
            snapshots.append(x.detach()[0].cpu().numpy().copy())
            taken.append(step + 1)
        if progress is not None:
            progress((step + 1) / steps)
    return IdealResult(x.detach()[0].cpu().numpy(), np.stack(snapshots), taken, np.array(probability), int(target))
