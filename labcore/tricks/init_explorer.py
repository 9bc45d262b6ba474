"""Initialisation x activation x depth: one batch through a freshly initialised MLP, no training.

A stack of `depth` hidden layers (Linear(width, width) then the activation) and a Linear(width, 10) output is
initialised with the real torch.nn.init functions, fed one fixed batch of standard-normal inputs, and one
cross-entropy loss on fixed random labels is backpropagated. Per hidden layer we record the std of its
activations (the layer's output) and the std of the loss's gradient with respect to its pre-activation
(∂L/∂z, z = W·h + b: what the layer hands back to the layers below; the gradient of W is this times h).
Everything runs in float64, so a too-small init shows its 1e-40 gradients instead of underflowing to zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

INITS = ("zeros", "small", "large", "xavier", "he")  # "small" / "large": normal with std SMALL_STD / LARGE_STD
ACTIVATIONS = ("sigmoid", "tanh", "relu")
SMALL_STD, LARGE_STD = 0.01, 1.0
DEPTH_RANGE = (2, 50, 1)  # hidden layers: (lowest, highest, step) of the page's slider
WIDTHS = (64, 128, 256)
BATCH, CLASSES, SEED = 256, 10, 0
BINS = 40  # histogram bins per shown layer
_ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


@dataclass(frozen=True)
class InitResult:
    init: str
    activation: str
    depth: int
    width: int
    act_std: np.ndarray  # (depth,): std of each hidden layer's activations (its output), layer 1 first
    grad_std: np.ndarray  # (depth,): std of ∂L/∂z for each hidden layer's pre-activation z
    weight_grad_std: np.ndarray  # (depth,): std of ∂L/∂W for each hidden layer's weight matrix
    loss: float
    hists: dict[int, tuple[np.ndarray, np.ndarray]]  # layer (1-based) -> (share of values per bin, bin edges)

    @property
    def layers(self) -> np.ndarray:
        return np.arange(1, self.depth + 1)

    def grad_ratio(self) -> float | None:
        """std of ∂L/∂z at the first hidden layer over that at the last (how much it grows on its way back,
        below 1 when it shrinks); None when either is zero (no gradient at all)."""
        return _ratio(self.grad_std[0], self.grad_std[-1])

    def act_ratio(self) -> float | None:
        """std of the last hidden layer's activations over the first's (how much they grow on the way up)."""
        return _ratio(self.act_std[-1], self.act_std[0])


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b) else None


def init_layer(layer: nn.Linear, init: str, activation: str) -> None:
    """The chosen scheme on one Linear layer, by torch.nn.init; biases to zero."""
    if init == "zeros":
        nn.init.zeros_(layer.weight)
    elif init == "small":
        nn.init.normal_(layer.weight, mean=0.0, std=SMALL_STD)
    elif init == "large":
        nn.init.normal_(layer.weight, mean=0.0, std=LARGE_STD)
    elif init == "xavier":
        nn.init.xavier_normal_(layer.weight)  # Glorot and Bengio's: std √(2 / (fan_in + fan_out)), gain 1
    elif init == "he":
        nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")  # std √(2 / fan_in), for ReLU
    else:
        raise KeyError(f"unknown init {init!r}; choose one of {list(INITS)}")
    nn.init.zeros_(layer.bias)


def weight_std(init: str, width: int) -> float:
    """The std the scheme draws a hidden layer's weights with (fan_in = fan_out = width)."""
    return {"zeros": 0.0, "small": SMALL_STD, "large": LARGE_STD, "xavier": math.sqrt(2 / (2 * width)),
            "he": math.sqrt(2 / width)}[init]


def shown_layers(depth: int) -> tuple[int, ...]:
    """The layers whose activations the histograms show: the first, the middle and the last."""
    return tuple(dict.fromkeys((1, (depth + 1) // 2, depth)))


def build(init: str, activation: str, depth: int, width: int, n_in: int | None = None) -> nn.ModuleList:
    """`depth` hidden Linear layers and the output layer, all initialised with `init` (float64)."""
    torch.manual_seed(SEED)
    sizes = [n_in or width] + [width] * depth
    layers = nn.ModuleList([nn.Linear(a, b, dtype=torch.float64) for a, b in zip(sizes[:-1], sizes[1:], strict=True)])
    layers.append(nn.Linear(width, CLASSES, dtype=torch.float64))
    for layer in layers:
        init_layer(layer, init, activation)
    return layers


def explore(init: str, activation: str, depth: int, width: int = 128) -> InitResult:
    """One forward and backward pass of a fresh `depth`-layer MLP on one fixed batch (see the module's text)."""
    if init not in INITS or activation not in ACTIVATIONS:
        raise KeyError(f"unknown init {init!r} or activation {activation!r}")
    if not DEPTH_RANGE[0] <= depth <= DEPTH_RANGE[1] or width < 1:
        raise ValueError(f"depth {depth} outside {DEPTH_RANGE[:2]} or width {width} < 1")
    gen = torch.Generator().manual_seed(SEED)
    x = torch.randn(BATCH, width, generator=gen, dtype=torch.float64)
    y = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    layers = build(init, activation, depth, width)
    phi = _ACT[activation]
    h, pre, outs = x, [], []
    for layer in layers[:-1]:
        z = layer(h)
        z.retain_grad()
        h = phi(z)
        pre.append(z)
        outs.append(h)
    loss = F.cross_entropy(layers[-1](h), y)
    loss.backward()
    with torch.no_grad():
        act_std = np.array([float(a.std()) for a in outs])
        grad_std = np.array([float(z.grad.std()) for z in pre])
        weight_grad_std = np.array([float(layer.weight.grad.std()) for layer in layers[:-1]])
        hists = {k: _hist(outs[k - 1].numpy().ravel()) for k in shown_layers(depth)}
    return InitResult(init, activation, depth, width, act_std, grad_std, weight_grad_std, loss.item(), hists)


def _hist(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts, edges = np.histogram(values, bins=BINS)
    return counts / max(len(values), 1), edges


# -- "train it": the same net, a few epochs on the digits -------------------------------------------------------
TRAIN_EPOCHS, TRAIN_BATCH, TRAIN_LR, TRAIN_MOMENTUM = 5, 64, 0.01, 0.9


@dataclass(frozen=True)
class TrainCurve:
    losses: np.ndarray  # (steps,): the training loss of every mini-batch, NaN once it stopped being finite
    steps_per_epoch: int
    test_accuracy: float | None  # None when the loss blew up (no usable network left)
    diverged_at: int | None  # the first step whose loss was not finite


def train_digits(init: str, activation: str, depth: int, width: int, *, epochs: int = TRAIN_EPOCHS,
                 progress: Callable[[float], None] | None = None) -> TrainCurve:
    """The explorer's net (float32 this time, 64 pixel inputs) trained with SGD + momentum on the digits, the
    same seed; stops at the first loss that is not finite (too-large weights can overflow)."""
    from labcore.data import load_dataset

    data = load_dataset("digits")
    mean, std = (data.mean or (0.0,))[0], (data.std or (1.0,))[0]
    x = ((data.x_train.flatten(1) - mean) / std).float()
    y = data.y_train
    x_test, y_test = ((data.x_test.flatten(1) - mean) / std).float(), data.y_test
    layers = build(init, activation, depth, width, n_in=x.shape[1]).float()
    phi = _ACT[activation]

    def forward(h: torch.Tensor) -> torch.Tensor:
        for layer in layers[:-1]:
            h = phi(layer(h))
        return layers[-1](h)

    opt = torch.optim.SGD(layers.parameters(), lr=TRAIN_LR, momentum=TRAIN_MOMENTUM)
    gen = torch.Generator().manual_seed(SEED)
    per_epoch = math.ceil(len(x) / TRAIN_BATCH)
    losses = np.full(epochs * per_epoch, np.nan)
    step, diverged = 0, None
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), TRAIN_BATCH):
            idx = order[start:start + TRAIN_BATCH]
            loss = F.cross_entropy(forward(x[idx]), y[idx])
            if not torch.isfinite(loss):
                diverged = step
                break
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[step] = loss.item()
            step += 1
        if progress is not None:
            progress(min(1.0, step / len(losses)))
        if diverged is not None:
            break
    accuracy = None
    if diverged is None:
        with torch.no_grad():
            out = forward(x_test)
        accuracy = float((out.argmax(1) == y_test).float().mean()) if torch.isfinite(out).all() else None
    return TrainCurve(losses, per_epoch, accuracy, diverged)
