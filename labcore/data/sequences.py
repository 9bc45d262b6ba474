"""Sequence datasets: generated token tasks (classification) and time series cut into windows (forecasting).

Every sequence is channels-first, (N, C, T), like a 1-D image: token tasks are one-hot over their
vocabulary (C = vocabulary size), series have one channel. Two kinds:

- "tokens": `recall` (the label is the first token of a long sequence of blanks and distractors: a
  memory test) and
  `agreement` (toy sentences after the book's Figure 11.1: is the hidden verb "was" or "were"? it
  agrees with the head noun, not with the nearer noun in between). The vocabulary is in extras["vocab"].
- "series" (task "regression"): noisy sines, trend + season, and two real series bundled with
  statsmodels (Mauna Loa CO2, yearly sunspots). Windows of `seq_len` past values predict the next
  `horizon` values. The split is chronological (train on the past, test on the future), never shuffled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labcore.config import DataConfig
from labcore.data.bundle import DataBundle, DatasetInfo, make_bundle, register, split_arrays

MAX_SEQ_LEN = 100


# -- recall: remember the first token --------------------------------------------------------------------
RECALL_CLASSES = ("A", "B", "C", "D")
BLANK = "·"
RECALL_DISTRACTORS = ("w", "x", "y", "z")
RECALL_VOCAB = (*RECALL_CLASSES, BLANK, *RECALL_DISTRACTORS)
RECALL_LEN, RECALL_SIZE, RECALL_NOISE = 20, 1000, 0.0


def _recall_info(cfg: DataConfig) -> DatasetInfo:
    return DatasetInfo("recall", "tokens", (len(RECALL_VOCAB), _length(cfg, RECALL_LEN)), RECALL_CLASSES)


def _length(cfg: DataConfig, default: int) -> int:
    return min(MAX_SEQ_LEN, max(2, cfg.seq_len or default))


def one_hot(ids: np.ndarray, vocab_size: int, silent: int | None = None) -> np.ndarray:
    """(N, T) token ids -> (N, V, T) float32 one-hot, channels first; the `silent` token is all zeros."""
    table = np.eye(vocab_size, dtype=np.float32)
    if silent is not None:
        table[silent] = 0
    return table[ids].transpose(0, 2, 1).copy()


def _token_bundle(info: DatasetInfo, ids: np.ndarray, y: np.ndarray, cfg: DataConfig, vocab,
                  silent: int | None = None) -> DataBundle:
    parts = split_arrays(one_hot(ids, len(vocab), silent), y, cfg, ids)
    bundle = make_bundle(info, parts, normalise_stats=False, vocab=list(vocab),
                         ids_train=parts[0][2], ids_val=parts[1][2], ids_test=parts[2][2])
    # One-hot inputs need no standardising: mean 0, std 1 per channel makes the model's Standardize a no-op.
    bundle.mean, bundle.std = (0.0,) * len(vocab), (1.0,) * len(vocab)
    return bundle


@register("recall", _recall_info)
def recall(cfg: DataConfig) -> DataBundle:
    """A class token (A-D) first, then blanks, a share `noise` of them replaced by random distractors (w-z).

    The label is the first token: to get it right the model must carry it through the whole sequence.
    """
    rng = np.random.default_rng(cfg.seed)
    n, length = cfg.n_samples or RECALL_SIZE, _length(cfg, RECALL_LEN)
    share = RECALL_NOISE if cfg.noise < 0 else min(1.0, cfg.noise)
    y = np.arange(n) % len(RECALL_CLASSES)
    rng.shuffle(y)
    first_distractor = len(RECALL_CLASSES) + 1
    ids = np.where(rng.random((n, length)) < share, rng.integers(first_distractor, len(RECALL_VOCAB), (n, length)),
                   RECALL_VOCAB.index(BLANK))
    ids[:, 0] = y
    # A blank is "nothing happens": an all-zero input, so the memory is tested, not the ability to ignore.
    return _token_bundle(_recall_info(cfg), ids, y, cfg, RECALL_VOCAB, silent=RECALL_VOCAB.index(BLANK))


# -- agreement: "the solution that the professors recommended [?] brilliant" ------------------------------
NOUNS = (("solution", "solutions"), ("idea", "ideas"), ("book", "books"), ("plan", "plans"),
         ("professor", "professors"), ("student", "students"), ("teacher", "teachers"), ("author", "authors"))
VERBS = ("recommended", "liked", "wrote", "praised", "chose")
PRE_ADJECTIVES = ("young", "famous", "first")
ADJECTIVES = ("brilliant", "simple", "wrong", "popular", "new")
PAD, MASK = "<pad>", "[?]"
AGREEMENT_VOCAB = (PAD, "the", "that", "near", MASK, *PRE_ADJECTIVES, *ADJECTIVES, *VERBS,
                   *(w for pair in NOUNS for w in pair))
AGREEMENT_CLASSES = ("was", "were")
AGREEMENT_LEN, AGREEMENT_SIZE = 10, 1200


def _agreement_info(cfg: DataConfig) -> DatasetInfo:
    return DatasetInfo("agreement", "tokens", (len(AGREEMENT_VOCAB), AGREEMENT_LEN), AGREEMENT_CLASSES)


def agreement_sentence(rng: np.random.Generator, plural: bool) -> list[str]:
    """One sentence whose hidden verb ([?]) agrees with the first noun; a second noun of random number
    sits between them (the attractor), so "the nearest noun" is the wrong rule."""
    def phrase(plural_noun: bool) -> list[str]:
        adjective = [PRE_ADJECTIVES[rng.integers(len(PRE_ADJECTIVES))]] if rng.random() < 0.3 else []
        return ["the", *adjective, NOUNS[rng.integers(len(NOUNS))][int(plural_noun)]]

    words = phrase(plural)
    middle = rng.random()
    if middle < 0.6:  # relative clause: "that the professors recommended"
        words += ["that", *phrase(rng.random() < 0.5), VERBS[rng.integers(len(VERBS))]]
    elif middle < 0.9:  # prepositional phrase: "near the books"
        words += ["near", *phrase(rng.random() < 0.5)]
    return words + [MASK, ADJECTIVES[rng.integers(len(ADJECTIVES))]]


@register("agreement", _agreement_info)
def agreement(cfg: DataConfig) -> DataBundle:
    """Toy sentences: class "was" if the head noun is singular, "were" if plural."""
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_samples or AGREEMENT_SIZE
    y = np.arange(n) % 2
    rng.shuffle(y)
    index = {w: i for i, w in enumerate(AGREEMENT_VOCAB)}
    ids = np.zeros((n, AGREEMENT_LEN), dtype=np.int64)  # padded at the end with <pad> (id 0)
    for i, label in enumerate(y):
        words = agreement_sentence(rng, bool(label))
        ids[i, : len(words)] = [index[w] for w in words]
    return _token_bundle(_agreement_info(cfg), ids, y, cfg, AGREEMENT_VOCAB)


def tokens_of(bundle: DataBundle, split: str, i: int) -> list[str]:
    """The words of example `i` of a split, without padding."""
    vocab = bundle.extras["vocab"]
    words = [vocab[int(k)] for k in bundle.extras[f"ids_{split}"][i]]
    return [w for w in words if w != PAD]


# -- time series and their windows ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """A whole series before windowing: values, their time stamps, the seasonal period, where it comes from."""

    values: np.ndarray
    time: np.ndarray
    period: int
    default_window: int
    source: str  # catalogue key of the source line shown on the page
    floor: float | None = None  # the least value the quantity can take (sunspot numbers: 0), if it has one


def _sines(seed: int, noise: float) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(800, dtype=np.float64)
    values = np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 7 + 1.0)
    return Series(values + rng.normal(0, 0.15 if noise < 0 else noise, len(t)), t, 25, 32, "sequences.source_sines")


def _trend_season(seed: int, noise: float) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(480, dtype=np.float64)  # 40 "years" of monthly values
    values = 0.02 * t + np.sin(2 * np.pi * t / 12) + 0.3 * np.cos(4 * np.pi * t / 12)
    return Series(values + rng.normal(0, 0.2 if noise < 0 else noise, len(t)), 1990 + t / 12, 12, 24,
                  "sequences.source_trend_season")


def _co2(seed: int, noise: float) -> Series:
    from statsmodels.datasets import co2  # imported on use: statsmodels takes a second to import

    weekly = co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().interpolate()  # 59 weeks are missing; months are complete
    time = monthly.index.year + (monthly.index.month - 1) / 12
    return Series(monthly.to_numpy(np.float64), np.asarray(time, dtype=np.float64), 12, 36, "sequences.source_co2")


def _sunspots(seed: int, noise: float) -> Series:
    from statsmodels.datasets import sunspots

    d = sunspots.load_pandas().data
    return Series(d["SUNACTIVITY"].to_numpy(np.float64), d["YEAR"].to_numpy(np.float64), 11, 22,
                  "sequences.source_sunspots", floor=0.0)  # a count of spots: never negative


SERIES = {"sines": _sines, "trend_season": _trend_season, "co2": _co2, "sunspots": _sunspots}
REAL_SERIES = ("co2", "sunspots")


def load_series(name: str, seed: int = 0, noise: float = -1.0) -> Series:
    return SERIES[name](seed, noise)


_WINDOWS = {"sines": 32, "trend_season": 24, "co2": 36, "sunspots": 22}


def _series_info(name: str):
    def info(cfg: DataConfig) -> DatasetInfo:
        window = _length(cfg, _WINDOWS[name])
        outputs = tuple(f"t+{k}" for k in range(1, max(1, cfg.horizon) + 1))
        return DatasetInfo(name, "series", (1, window), outputs, task="regression")

    return info


def window_series(values: np.ndarray, window: int, horizon: int, fractions: tuple[float, float] = (0.15, 0.15)):
    """Cut a series into (past `window` values -> next `horizon` values) examples, split by time.

    The timeline is cut 70/15/15; a window belongs to the part its targets fall in (windows whose
    targets straddle a cut are dropped), so no test target was ever seen in training. Inputs may reach
    back into the previous part: at forecast time the past is known.
    Returns {split: (x (N, 1, window), y (N, horizon), first target index (N,))} and the cut points.
    """
    n = len(values)
    cut1 = int(round(n * (1 - sum(fractions))))
    cut2 = int(round(n * (1 - fractions[1])))
    starts = np.arange(window, n - horizon + 1)  # index of each window's first target
    ends = starts + horizon - 1
    parts = {"train": (starts >= window) & (ends < cut1), "val": (starts >= cut1) & (ends < cut2),
             "test": starts >= cut2}
    out = {}
    for split, keep in parts.items():
        s = starts[keep]
        x = np.stack([values[i - window : i] for i in s]) if len(s) else np.zeros((0, window))
        y = np.stack([values[i : i + horizon] for i in s]) if len(s) else np.zeros((0, horizon))
        out[split] = (x[:, None, :].astype(np.float32), y.astype(np.float32), s)
    return out, (cut1, cut2)


def _make_series(name: str):
    def load(cfg: DataConfig) -> DataBundle:
        info = _series_info(name)(cfg)
        series = load_series(name, cfg.seed, cfg.noise)
        window, horizon = info.input_shape[1], len(info.class_names)
        cut1 = int(round(len(series.values) * (1 - cfg.val_fraction - cfg.test_fraction)))
        # Scale with the training part only (the future must not leak into the statistics).
        mu, sd = float(series.values[:cut1].mean()), float(series.values[:cut1].std() or 1.0)
        scaled = (series.values - mu) / sd
        parts, cuts = window_series(scaled, window, horizon, (cfg.val_fraction, cfg.test_fraction))
        if min(len(parts[s][0]) for s in parts) == 0:
            raise ValueError(f"{name}: window {window} + horizon {horizon} leave no examples in a split")
        tensors = [torch.from_numpy(a) for s in ("train", "val", "test") for a in parts[s][:2]]
        return DataBundle(info, *tensors, mean=(0.0,), std=(1.0,), extras={
            "series": series, "scale": (mu, sd), "cuts": cuts,
            **{f"starts_{s}": parts[s][2] for s in parts}})

    return load


for _name in SERIES:
    register(_name, _series_info(_name))(_make_series(_name))


# -- forecasting baselines and scores (on the original scale) ------------------------------------------------
def naive_forecasts(values: np.ndarray, starts: np.ndarray, horizon: int, period: int) -> dict[str, np.ndarray]:
    """The baselines a forecaster must beat, for targets starting at `starts`:

    last value (repeat the last observation), seasonal naive (the value one season earlier) and seasonal
    naive with drift: the last value plus the change over the same stretch one season earlier
    (y[t-1] + y[t-P] - y[t-1-P] one step ahead), which follows a trend and a season at once and is hard
    to beat on CO2 (MAE 0.33 ppm one month ahead).
    """
    k = np.arange(horizon)
    last = np.repeat(values[starts - 1][:, None], horizon, axis=1)
    back = period * (k // period + 1)  # one (or more, for long horizons) seasons back: always in the past
    seasonal = values[starts[:, None] + k[None, :] - back[None, :]]
    before = values[np.maximum(starts - 1 - period, 0)][:, None]  # the last value's season-earlier twin
    return {"last_value": last, "seasonal_naive": seasonal, "seasonal_drift": last + seasonal - before}


def forecast_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    err = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean()))}


def within_floor(series: Series, pred: np.ndarray) -> np.ndarray:
    """Forecasts of a series that cannot go below a floor (sunspot numbers cannot be negative) raised to it:
    a network or a drift rule may predict -5 spots, which is never right. Other series are returned as they are."""
    return pred if series.floor is None else np.maximum(pred, series.floor)


def unscale(bundle: DataBundle, values: np.ndarray | torch.Tensor) -> np.ndarray:
    mu, sd = bundle.extras["scale"]
    return np.asarray(values, dtype=np.float64) * sd + mu
