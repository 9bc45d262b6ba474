"""Receptive fields (the book's lesson 8): which input pixels one unit of a deeper layer can see.

Two views of the same unit. The theoretical field follows the layer arithmetic: a layer with kernel k
(dilation d, so it spans d·(k − 1) + 1 inputs), stride s and padding p turns a field of r inputs with jump j
between neighbouring units into r + (d·(k − 1))·j with jump j·s. The effective field is what the model
does with this picture: the gradient of the unit's value with respect to every input pixel (autograd), which
is zero outside the theoretical box and often uneven inside it (max pooling passes gradient only through
the winners, ReLU only through active units).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from labcore.explain.locking import exclusive

FIELD_LAYERS = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


@dataclass
class Stage:
    """One layer that changes the receptive field, and the field of its output units."""

    module: nn.Module
    kind: str  # "conv", "max_pool", "avg_pool"
    index: int  # 1-based among the layers of its kind
    size: tuple[int, int]  # receptive field (rows, columns) in input pixels
    jump: tuple[int, int]  # input pixels between neighbouring output units
    start: tuple[float, float]  # input coordinate of the centre of output unit (0, 0)
    out: tuple[int, int]  # the layer's output height and width for this input size


@exclusive  # it hooks the model: one session at a time per model (the page's untrained CNN is shared)
def stages(model: nn.Module, input_hw: tuple[int, int]) -> list[Stage]:
    """Every convolution and pooling layer of `model` in forward order, with its field (modules are visited in
    registration order, which is the forward order of the lab's nn.Sequential CNNs)."""
    layers = [m for m in model.modules() if isinstance(m, FIELD_LAYERS)]
    seen: dict[nn.Module, tuple[int, int]] = {}
    hooks = [m.register_forward_hook(lambda m, _i, o: seen.__setitem__(m, tuple(o.shape[-2:]))) for m in layers]
    channels = next(m for m in layers if isinstance(m, nn.Conv2d)).in_channels
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, channels, *input_hw))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    out: list[Stage] = []
    r, j, start = [1, 1], [1, 1], [0.0, 0.0]
    counts: dict[str, int] = {}
    for m in layers:
        k, s, p = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
        d = _pair(getattr(m, "dilation", 1))
        kind = "conv" if isinstance(m, nn.Conv2d) else "max_pool" if isinstance(m, nn.MaxPool2d) else "avg_pool"
        for a in (0, 1):
            span = d[a] * (k[a] - 1) + 1
            start[a] += ((span - 1) / 2 - p[a]) * j[a]
            r[a] += (span - 1) * j[a]
            j[a] *= s[a]
        counts[kind] = counts.get(kind, 0) + 1
        out.append(Stage(m, kind, counts[kind], (r[0], r[1]), (j[0], j[1]), (start[0], start[1]), seen[m]))
    return out


def box(stage: Stage, row: int, col: int, input_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), inclusive, of the input pixels unit (row, col) of `stage` can see, clipped
    to the picture (padding lies outside it)."""
    out = []
    for a, u in ((0, row), (1, col)):
        centre = stage.start[a] + u * stage.jump[a]
        half = (stage.size[a] - 1) / 2
        lo, hi = int(np.ceil(centre - half)), int(np.floor(centre + half))
        out += [max(0, lo), min(input_hw[a] - 1, hi)]
    return out[0], out[1], out[2], out[3]


@exclusive
def gradient_field(model: nn.Module, image: torch.Tensor, stage: Stage, row: int, col: int) -> np.ndarray:
    """|∂ unit / ∂ pixel| summed over the input channels, for one (C, H, W) picture; the unit is the sum over
    the layer's channels at (row, col). Scaled to a maximum of 1 (all zeros if no gradient reaches the input)."""
    kept: dict[str, torch.Tensor] = {}
    hook = stage.module.register_forward_hook(lambda _m, _i, o: kept.__setitem__("out", o))
    was_training = model.training
    model.eval()
    x = image[None].clone().float().requires_grad_(True)
    try:
        model(x)
        kept["out"][0, :, row, col].sum().backward()
    finally:
        hook.remove()
        model.train(was_training)
        model.zero_grad(set_to_none=True)
    g = x.grad[0].abs().sum(0).numpy().astype(np.float64)
    top = g.max()
    return g / top if top > 0 else g
