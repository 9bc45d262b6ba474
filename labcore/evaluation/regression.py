"""Regression metrics (lesson 5): scikit-learn's diabetes table (442 patients, 10 measurements, a disease-progression
score one year later), a seeded 70/15/15 split standardised with training statistics, a small torch MLP regressor
(full batch, MSE, Huber or MAE loss) and three references on the same split: the mean of the training targets,
LinearRegression and HistGradientBoostingRegressor. Every number is sklearn.metrics' on the test predictions.

The targets stay in their own units (so MAE reads as "points of the score"); the MLP learns them standardised and
its predictions are mapped back."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn import metrics as skm
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from threadpoolctl import threadpool_limits
from torch import nn

from labcore.explain.features import single_thread
from labcore.seeding import init_rng

LOSSES = ("mse", "huber", "mae")
MODELS = ("mean", "linear", "boosting", "mlp")
STEPS = 50  # few steps on purpose: 309 training rows, and 200 steps already overfit (test R² drops to ~0)
WIDTH = 32
LR = 0.01
DECAY = 1.0
SEED = 0
OUTLIER_MAX = 10  # the outlier slider: 0 .. 10 corrupted test targets
OUTLIER_SHIFT = 5.0  # each corrupted target moves up by this many training standard deviations


@dataclass(frozen=True)
class RegSplit:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]


def load_split(seed: int = SEED) -> RegSplit:
    """A seeded 70/15/15 split of the diabetes table; features standardised with the training rows' mean and std."""
    data = load_diabetes()
    x, y = data.data.astype(np.float64), data.target.astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_train, n_val = int(round(0.7 * len(y))), int(round(0.15 * len(y)))
    tr_, va, te = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    mean, std = x[tr_].mean(axis=0), x[tr_].std(axis=0)
    std[std == 0] = 1.0

    def z(a: np.ndarray) -> np.ndarray:
        return ((a - mean) / std).astype(np.float32)

    return RegSplit(z(x[tr_]), y[tr_], z(x[va]), y[va], z(x[te]), y[te], tuple(data.feature_names))


@dataclass(frozen=True)
class Metrics:
    mae: float
    mse: float
    rmse: float
    r2: float


def metrics(y_true: np.ndarray, y_pred: np.ndarray) -> Metrics:
    """MAE, MSE, RMSE and R², all by sklearn.metrics (RMSE as the square root of sklearn's MSE)."""
    mse = float(skm.mean_squared_error(y_true, y_pred))
    return Metrics(float(skm.mean_absolute_error(y_true, y_pred)), mse, float(np.sqrt(mse)), float(skm.r2_score(y_true, y_pred)))


@dataclass(frozen=True)
class Fitted:
    model: str  # one of MODELS
    pred_test: np.ndarray
    seconds: float  # training only


def _loss(name: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if name == "mse":
        return F.mse_loss(pred, target)
    if name == "huber":
        return F.huber_loss(pred, target, delta=1.0)
    if name == "mae":
        return F.l1_loss(pred, target)
    raise ValueError(f"unknown loss {name!r}")


def fit_mlp(split: RegSplit, loss: str = "mse", steps: int = STEPS, seed: int = SEED) -> Fitted:
    """Two hidden layers of 32 ReLUs, full-batch AdamW on the standardised targets; predictions in target units."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}")
    mu, sd = float(split.y_train.mean()), float(split.y_train.std())
    with init_rng(seed):
        model = nn.Sequential(nn.Linear(split.x_train.shape[1], WIDTH), nn.ReLU(), nn.Linear(WIDTH, WIDTH), nn.ReLU(),
                              nn.Linear(WIDTH, 1))
    x = torch.from_numpy(split.x_train)
    y = torch.from_numpy(((split.y_train - mu) / sd).astype(np.float32))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=DECAY)
    with single_thread():
        start = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            _loss(loss, model(x).squeeze(1), y).backward()
            opt.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            pred = model(torch.from_numpy(split.x_test)).squeeze(1).numpy().astype(np.float64)
    return Fitted("mlp", pred * sd + mu, seconds)


def fit_classic(name: str, split: RegSplit, seed: int = SEED) -> Fitted:
    """The mean baseline (predicts the training targets' mean), LinearRegression or HistGradientBoostingRegressor."""
    if name == "mean":
        start = time.perf_counter()
        mean = float(split.y_train.mean())
        return Fitted(name, np.full(len(split.y_test), mean), time.perf_counter() - start)
    if name == "linear":
        model = LinearRegression()
    elif name == "boosting":
        model = HistGradientBoostingRegressor(max_iter=100, random_state=seed)
    else:
        raise ValueError(f"unknown model {name!r}")
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        model.fit(split.x_train, split.y_train)
        seconds = time.perf_counter() - start
        pred = model.predict(split.x_test)
    return Fitted(name, np.asarray(pred, dtype=np.float64), seconds)


def with_outliers(y: np.ndarray, k: int, shift: float, seed: int = SEED) -> np.ndarray:
    """A copy of `y` with `k` seeded entries moved up by `shift` (k is clipped to len(y))."""
    out = np.array(y, dtype=np.float64, copy=True)
    k = max(0, min(int(k), len(out)))
    if k:
        idx = np.random.default_rng(seed + 1).choice(len(out), size=k, replace=False)
        out[idx] += shift
    return out


def outlier_effect(y_true: np.ndarray, y_pred: np.ndarray, k: int, shift: float) -> tuple[Metrics, Metrics, np.ndarray]:
    """The metrics before and after `k` test targets move by `shift`, and the corrupted targets."""
    corrupted = with_outliers(y_true, k, shift)
    return metrics(y_true, y_pred), metrics(corrupted, y_pred), corrupted
