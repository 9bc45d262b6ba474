"""Multi-layer perceptron: works on any input (images are flattened)."""

from __future__ import annotations

import math

from torch import nn

from labcore.models.layers import activation
from labcore.seeding import Dropout


def mlp(*, input_shape: tuple[int, ...], num_classes: int, depth: int = 2, width: int = 64,
        act: str = "relu", batch_norm: bool = False, layer_norm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """`layer_norm` (in place of `batch_norm`) normalises each example over its own units: no batch statistics,
    so it behaves the same at any batch size and in training and evaluation."""
    layers: list[nn.Module] = [nn.Flatten()]
    features = math.prod(input_shape)
    for _ in range(depth):
        layers.append(nn.Linear(features, width))
        if layer_norm:
            layers.append(nn.LayerNorm(width))
        elif batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(activation(act))
        if dropout:
            layers.append(Dropout(dropout))
        features = width
    layers.append(nn.Linear(features, num_classes))
    return nn.Sequential(*layers)
