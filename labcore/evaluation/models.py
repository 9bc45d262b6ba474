"""The lab's tabular data as numpy splits, and a small MLP fitted on them in well under a second.

The split is the lab's own (labcore.data: seeded, stratified 70/15/15, standardised with training statistics);
digits' 8x8 images are flattened to 64 features. The MLP trains full batch with Adam, seeded, so a setup always
gives the same network."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labcore.data import load_dataset
from labcore.explain.features import single_thread
from labcore.seeding import init_rng

DATASETS = ("breast_cancer", "wine", "digits")  # the lab's built-in tables (digits: 64 pixels as 64 columns)
BINARY = "breast_cancer"  # the one two-class table: the threshold tab's data
STEPS = 300  # full-batch Adam steps
STEP_CHOICES = (100, 300, 1000)  # the calibration tab's: longer training, more confident
WIDTH = 32
LR = 0.01
# AdamW's decoupled weight decay: without it the net is sure of nearly every tumour (scores at 0 or 1, a threshold
# anywhere from 0.1 to 0.9 gives the same decisions); with it the scores spread out and the test AUC rises.
DECAY = 1.0


@dataclass(frozen=True)
class Split:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    positive: int  # the class of interest of a two-class table (breast cancer: malignant)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


def load_split(name: str) -> Split:
    data = load_dataset(name)

    def flat(x: torch.Tensor) -> np.ndarray:
        return x.reshape(len(x), -1).numpy().astype(np.float32)

    positive = data.info.positive if data.info.positive is not None else 1
    return Split(name, flat(data.x_train), data.y_train.numpy(), flat(data.x_val), data.y_val.numpy(),
                 flat(data.x_test), data.y_test.numpy(), tuple(data.class_names), positive)


@dataclass(frozen=True)
class FittedMLP:
    logits_val: np.ndarray  # (n_val, K)
    logits_test: np.ndarray  # (n_test, K)
    seconds: float  # the training time alone
    steps: int


def build_mlp(n_features: int, n_classes: int, seed: int = 0, width: int = WIDTH) -> nn.Module:
    with init_rng(seed):
        return nn.Sequential(nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                             nn.Linear(width, n_classes))


def train_full_batch(model: nn.Module, x: torch.Tensor, loss_of: Callable[[torch.Tensor], torch.Tensor], steps: int,
                     lr: float, weight_decay: float) -> float:
    """`steps` full-batch AdamW steps on `loss_of(model(x))`: the one loop of every small MLP on the Evaluation page
    (tables, remedies, regression). Returns the training time in seconds."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss_of(model(x)).backward()
        opt.step()
    return time.perf_counter() - start


def fit_mlp(split: Split, steps: int = STEPS, seed: int = 0, lr: float = LR, weight_decay: float = DECAY) -> FittedMLP:
    """Two hidden layers of 32 ReLUs, full-batch AdamW on cross-entropy for `steps` steps."""
    model = build_mlp(split.n_features, split.n_classes, seed)
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train).long()
    with single_thread():
        seconds = train_full_batch(model, x, lambda out: F.cross_entropy(out, y), steps, lr, weight_decay)
        with torch.no_grad():
            val, test = (model(torch.from_numpy(a)).numpy().astype(np.float64) for a in (split.x_val, split.x_test))
    return FittedMLP(val, test, seconds, steps)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
