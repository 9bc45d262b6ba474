"""Small shared pieces: input standardisation, activations by name, weight initialisation schemes.

Every use of an activation gets its own non-inplace module: captum and SHAP hook modules, and an
in-place or shared ReLU breaks their hooks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

INITS = ("default", "xavier", "kaiming", "normal", "zeros")


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise KeyError(f"unknown activation {name!r}; choose one of {list(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class Standardize(nn.Module):
    """(x - mean) / std per channel, inside the model, so callers feed raw [0, 1] inputs."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], dims: int):
        super().__init__()
        shape = (1, -1) + (1,) * (dims - 1)  # (1, C, 1, 1) for images, (1, F) for flat inputs
        self.register_buffer("mean", torch.tensor(list(mean) or [0.0]).view(shape))
        self.register_buffer("std", torch.tensor(list(std) or [1.0]).view(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def init_weights(model: nn.Module, scheme: str, activation_name: str = "relu") -> None:
    """Apply an initialisation scheme to every Linear/Conv weight (biases to zero).

    "default" keeps PyTorch's own (Kaiming-uniform with a=sqrt(5)); "zeros" is there to show why
    symmetric weights never learn.
    """
    if scheme not in INITS:
        raise KeyError(f"unknown init {scheme!r}; choose one of {list(INITS)}")
    if scheme == "default":
        return
    gain_name = activation_name if activation_name in ("relu", "leaky_relu", "tanh", "sigmoid") else "relu"
    for m in model.modules():
        if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d):
            if scheme == "xavier":
                nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain(gain_name))
            elif scheme == "kaiming":
                nn.init.kaiming_normal_(m.weight, nonlinearity="leaky_relu" if gain_name == "leaky_relu" else "relu")
            elif scheme == "normal":
                nn.init.normal_(m.weight, std=0.01)
            else:
                nn.init.zeros_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
