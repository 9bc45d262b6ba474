"""Regression metrics (lesson 5) on four offline data sets (DATASETS):

- "diabetes": scikit-learn's diabetes table (442 patients, 10 measurements, a disease-progression score one year
  later), a seeded 70/15/15 split;
- "wave": a generated 1-D function with noise, y = sin(3x) + 0.3x + noise, x uniform in [-3, 3] (seeded), a random
  split; the fitted curves over x are also predicted on a grid (`grid`), where a straight line visibly underfits;
- "surface": a generated 2-D function with noise, y = sin(2x₁)·cos(x₂) + 0.5x₂ + noise, a random split;
- "lags": the monthly Mauna Loa CO₂ series of labcore.data.sequences as a table (the previous LAGS values -> the
  next value), split in time order (train on the past, test on the future, no shuffling, so no look-ahead);
- "diffs": the same series differenced: the previous LAGS month-to-month changes -> the next change, in time order.
  The changes have no trend, so the test targets lie within the training range and the trees reach them.

Features are standardised with the training rows' statistics. A small torch MLP regressor (full batch, MSE, Huber or
MAE loss) and three references fit the same split: the mean of the training targets, LinearRegression and
HistGradientBoostingRegressor. Every number is sklearn.metrics' on the test predictions; R² is not clipped, so a
model worse than the test targets' mean shows a negative R² (on "lags" the past's mean and the trees, which cannot
predict beyond the values they saw, do; on "diffs" the trees do well again).

The targets stay in their own units (so MAE reads as "points of the score" or "ppm"); the MLP learns them
standardised and its predictions are mapped back."""

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

from labcore.evaluation.models import train_full_batch
from labcore.explain.features import single_thread
from labcore.seeding import init_rng

LOSSES = ("mse", "huber", "mae")
MODELS = ("mean", "linear", "boosting", "mlp")
DATASETS = ("diabetes", "wave", "surface", "lags", "diffs")
STEPS = 50  # few steps on purpose: 309 training rows, and 200 steps already overfit (test R² drops to ~0)
WIDTH = 32
LR = 0.01
DECAY = 1.0
SEED = 0
# The MLP's (steps, learning rate, weight decay) per data set: the diabetes table needs few steps and strong decay,
# the generated functions need more steps to bend the curve (each fit stays well under a second).
MLP_SETTINGS = {"diabetes": (STEPS, LR, DECAY), "wave": (600, 0.01, 0.01), "surface": (600, 0.01, 0.01),
                "lags": (300, 0.01, 0.01), "diffs": (300, 0.01, 0.01)}
WAVE_SIZE, WAVE_NOISE, WAVE_RANGE = 400, 0.25, 3.0
SURFACE_SIZE, SURFACE_NOISE, SURFACE_RANGE = 600, 0.15, 2.0
GRID_SIZE = 200  # points of the fitted curves over x (wave)
LAG_SERIES = "co2"  # one of labcore.data.sequences' built-in series
LAGS = 12  # the previous 12 months -> the next month
DIGITS = {"diabetes": 1, "wave": 3, "surface": 3, "lags": 2, "diffs": 3}  # decimals of MAE, MSE, RMSE in the targets' units
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
    data: str = "diabetes"  # one of DATASETS
    time_order: bool = False  # True: train, validation and test follow each other in time (no shuffling)
    grid: np.ndarray | None = None  # wave: x values (original units) on which the fitted curves are drawn
    x_grid: np.ndarray | None = None  # the grid standardised like the features, as the models see it
    raw_train: np.ndarray | None = None  # the features in their own units (for figures over x)
    raw_test: np.ndarray | None = None
    time_test: np.ndarray | None = None  # lags: the time stamp of each test target (decimal year)


def make_wave(n: int = WAVE_SIZE, noise: float = WAVE_NOISE, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """x uniform in [-3, 3] (shape (n, 1)) and y = sin(3x) + 0.3x + Gaussian noise of std `noise` (shape (n,))."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-WAVE_RANGE, WAVE_RANGE, n)
    return x[:, None], wave_function(x) + rng.normal(0.0, noise, n)


def wave_function(x: np.ndarray) -> np.ndarray:
    """The noiseless wave: the best any model can do."""
    return np.sin(3.0 * x) + 0.3 * x


def make_surface(n: int = SURFACE_SIZE, noise: float = SURFACE_NOISE, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """(x₁, x₂) uniform in [-2, 2]² (shape (n, 2)) and y = sin(2x₁)·cos(x₂) + 0.5x₂ + Gaussian noise (shape (n,))."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-SURFACE_RANGE, SURFACE_RANGE, (n, 2))
    return x, np.sin(2.0 * x[:, 0]) * np.cos(x[:, 1]) + 0.5 * x[:, 1] + rng.normal(0.0, noise, n)


def noiseless_r2(split: RegSplit) -> float:
    """The wave's R² on the test rows if a model knew the noiseless function: the ceiling the noise leaves."""
    if split.data != "wave" or split.raw_test is None:
        raise ValueError("only the wave has a known noiseless function")
    return metrics(split.y_test, wave_function(split.raw_test[:, 0])).r2


def lag_table(values: np.ndarray, k: int = LAGS) -> tuple[np.ndarray, np.ndarray]:
    """A series as a table: row i holds the `k` values values[i : i + k] (oldest first) and its target is the next
    value, values[i + k]. Rows stay in time order."""
    values = np.asarray(values, dtype=np.float64)
    if not 1 <= k < len(values):
        raise ValueError(f"{k} lags need a series longer than {k}")
    x = np.lib.stride_tricks.sliding_window_view(values[:-1], k).copy()
    return x, values[k:]


def _cuts(n: int) -> tuple[int, int]:
    n_train, n_val = int(round(0.7 * n)), int(round(0.15 * n))
    return n_train, n_train + n_val


def _standardised(x: np.ndarray, y: np.ndarray, order: np.ndarray, names: tuple[str, ...], data: str,
                  **extra) -> RegSplit:
    """70/15/15 by `order` (rows in that order: train, validation, test); features standardised with the training
    rows' mean and std."""
    a, b = _cuts(len(y))
    tr_, va, te = order[:a], order[a:b], order[b:]
    mean, std = x[tr_].mean(axis=0), x[tr_].std(axis=0)
    std[std == 0] = 1.0

    def z(v: np.ndarray) -> np.ndarray:
        return ((v - mean) / std).astype(np.float32)

    grid = extra.pop("grid", None)
    return RegSplit(z(x[tr_]), y[tr_], z(x[va]), y[va], z(x[te]), y[te], names, data,
                    grid=grid, x_grid=None if grid is None else z(grid[:, None]), raw_train=x[tr_], raw_test=x[te],
                    **extra)


def load_split(seed: int = SEED, data: str = "diabetes") -> RegSplit:
    """A 70/15/15 split of `data` (one of DATASETS): seeded and shuffled for the tables, in time order for "lags"."""
    if data == "diabetes":
        table = load_diabetes()
        x, y = table.data.astype(np.float64), table.target.astype(np.float64)
        return _standardised(x, y, np.random.default_rng(seed).permutation(len(y)), tuple(table.feature_names), data)
    if data == "wave":
        x, y = make_wave(seed=seed)
        grid = np.linspace(-WAVE_RANGE, WAVE_RANGE, GRID_SIZE)
        return _standardised(x, y, np.random.default_rng(seed).permutation(len(y)), ("x",), data, grid=grid)
    if data == "surface":
        x, y = make_surface(seed=seed)
        return _standardised(x, y, np.random.default_rng(seed).permutation(len(y)), ("x1", "x2"), data)
    if data in ("lags", "diffs"):
        from labcore.data.sequences import load_series

        series = load_series(LAG_SERIES, seed)
        values, times = (series.values, series.time) if data == "lags" else (np.diff(series.values), series.time[1:])
        x, y = lag_table(values, LAGS)
        names = tuple(f"t-{k}" for k in range(LAGS, 0, -1))
        order = np.arange(len(y))  # time order: no shuffling, the test months come after every training month
        return _standardised(x, y, order, names, data, time_order=True, time_test=times[LAGS:][_cuts(len(y))[1]:])
    raise ValueError(f"unknown regression data {data!r}")


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
    pred_grid: np.ndarray | None = None  # predictions on split.grid, where the split has one


def _loss(name: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if name == "mse":
        return F.mse_loss(pred, target)
    if name == "huber":
        return F.huber_loss(pred, target, delta=1.0)
    if name == "mae":
        return F.l1_loss(pred, target)
    raise ValueError(f"unknown loss {name!r}")


def fit_mlp(split: RegSplit, loss: str = "mse", steps: int | None = None, seed: int = SEED) -> Fitted:
    """Two hidden layers of 32 ReLUs, full-batch AdamW on the standardised targets; predictions in target units.
    Steps, learning rate and weight decay are the data set's (MLP_SETTINGS) unless `steps` is given."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}")
    default_steps, lr, decay = MLP_SETTINGS[split.data]
    steps = default_steps if steps is None else steps
    mu, sd = float(split.y_train.mean()), float(split.y_train.std())
    with init_rng(seed):
        model = nn.Sequential(nn.Linear(split.x_train.shape[1], WIDTH), nn.ReLU(), nn.Linear(WIDTH, WIDTH), nn.ReLU(),
                              nn.Linear(WIDTH, 1))
    x = torch.from_numpy(split.x_train)
    y = torch.from_numpy(((split.y_train - mu) / sd).astype(np.float32))
    with single_thread():
        seconds = train_full_batch(model, x, lambda out: _loss(loss, out.squeeze(1), y), steps, lr, decay)
        with torch.no_grad():
            pred = model(torch.from_numpy(split.x_test)).squeeze(1).numpy().astype(np.float64)
            grid = None if split.x_grid is None else model(torch.from_numpy(split.x_grid)).squeeze(1).numpy()
    return Fitted("mlp", pred * sd + mu, seconds, None if grid is None else grid.astype(np.float64) * sd + mu)


def fit_classic(name: str, split: RegSplit, seed: int = SEED) -> Fitted:
    """The mean baseline (predicts the training targets' mean), LinearRegression or HistGradientBoostingRegressor."""
    if name == "mean":
        start = time.perf_counter()
        mean = float(split.y_train.mean())
        seconds = time.perf_counter() - start
        grid = None if split.x_grid is None else np.full(len(split.x_grid), mean)
        return Fitted(name, np.full(len(split.y_test), mean), seconds, grid)
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
        grid = None if split.x_grid is None else np.asarray(model.predict(split.x_grid), dtype=np.float64)
    return Fitted(name, np.asarray(pred, dtype=np.float64), seconds, grid)


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
