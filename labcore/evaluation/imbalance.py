"""Rare positives in training too, and two remedies compared from the same start (issue 13).

The accuracy paradox (labcore.evaluation.thresholds) makes the positive class rare in the evaluation data only.
Here the training split is subsampled to the same prevalence and one small MLP (labcore.evaluation.models' two
hidden layers, the same seed, hence the same initial weights) is trained three ways, full-batch AdamW as everywhere
on the page:

- plain cross-entropy;
- class-weighted cross-entropy, each class weighted by its inverse frequency (sklearn's
  compute_class_weight("balanced"): n / (2 * count));
- random oversampling: minority rows drawn again with replacement (seeded) until both classes are equally many.

Each is judged on the paradox's own subset (validation and test together, the same prevalence, the same rows), next
to the always-negative "classifier". Every number is sklearn.metrics' (thresholds.at_threshold and
average_precision_score)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn import metrics as skm
from sklearn.utils.class_weight import compute_class_weight

from labcore.evaluation import thresholds
from labcore.evaluation.models import DECAY, LR, STEPS, Split, build_mlp, train_full_batch
from labcore.explain.features import single_thread

METHODS = ("plain", "weighted", "oversampled")  # the three trainings; the table adds "always_negative"
BASELINE = "always_negative"


@dataclass(frozen=True)
class RemedyFits:
    """The three models' positive-class probabilities on the evaluation subset (the paradox's rows)."""

    y_eval: np.ndarray  # 1 for the positive class, else 0
    scores: dict[str, np.ndarray]  # method -> P(positive) per evaluation row
    n_train: int  # training rows after subsampling (before oversampling)
    n_train_positive: int
    n_oversampled: int  # training rows after oversampling
    class_weights: tuple[float, float]  # (negative, positive), as compute_class_weight("balanced") gives them
    seconds: float  # the three trainings together


@dataclass(frozen=True)
class RemedyScore:
    method: str  # one of METHODS, or BASELINE
    at: thresholds.AtThreshold  # accuracy, balanced accuracy, MCC, recall ... at the threshold
    pr_auc: float  # average precision (threshold-free)

    @property
    def accuracy(self) -> float:
        return self.at.accuracy

    @property
    def balanced_accuracy(self) -> float:
        return self.at.balanced_accuracy

    @property
    def mcc(self) -> float:
        return self.at.mcc

    @property
    def recall(self) -> float:
        return self.at.recall


def eval_subset(split: Split, positive: int, prevalence: float) -> tuple[np.ndarray, np.ndarray]:
    """(features, 1 for positive) of the paradox's subset: validation and test together, subsampled (seed 0) to
    `prevalence` exactly as app.evaluation_tabs' paradox does, so both talk about the same tumours."""
    x = np.concatenate([split.x_val, split.x_test])
    y = (np.concatenate([split.y_val, split.y_test]) == positive).astype(int)
    idx = thresholds.subsample_prevalence(y, prevalence)
    return x[idx], y[idx]


def oversample(y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Row indices with the smaller class's rows drawn again at random (with replacement, seeded) until both
    classes are equally many: every original row once, then the extra draws."""
    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2)
    minority = int(np.argmin(counts))
    extra = np.random.default_rng(seed).choice(np.flatnonzero(y == minority), size=int(counts.max() - counts.min()))
    return np.concatenate([np.arange(len(y)), extra])


def _train(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, steps: int, weight: torch.Tensor | None) -> None:
    yt = torch.from_numpy(y).long()
    train_full_batch(model, torch.from_numpy(x), lambda out: F.cross_entropy(out, yt, weight=weight), steps, LR, DECAY)


def fit_remedies(split: Split, positive: int, prevalence: float, seed: int = 0, steps: int = STEPS) -> RemedyFits:
    """The training split subsampled to `prevalence` (seeded), and one MLP, built once from `seed`, copied and
    trained three ways (METHODS); every copy starts from the same weights. A few tenths of a second."""
    y_all = (split.y_train == positive).astype(int)
    idx = thresholds.subsample_prevalence(y_all, prevalence, seed)
    x, y = split.x_train[idx], y_all[idx]
    weights = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    extra = oversample(y, seed)
    x_eval, y_eval = eval_subset(split, positive, prevalence)
    start = build_mlp(split.n_features, 2, seed)
    setups = {"plain": (x, y, None), "weighted": (x, y, torch.tensor(weights, dtype=torch.float32)),
              "oversampled": (x[extra], y[extra], None)}
    scores = {}
    with single_thread():
        began = time.perf_counter()
        for method in METHODS:
            model = copy.deepcopy(start)
            xs, ys, weight = setups[method]
            _train(model, xs, ys, steps, weight)
            with torch.no_grad():
                scores[method] = torch.softmax(model(torch.from_numpy(x_eval)), dim=1)[:, 1].numpy().astype(np.float64)
        seconds = time.perf_counter() - began
    return RemedyFits(y_eval, scores, len(y), int(y.sum()), len(extra), (float(weights[0]), float(weights[1])), seconds)


def score_remedies(fits: RemedyFits, threshold: float) -> list[RemedyScore]:
    """One row per method at `threshold`, and the always-negative baseline (every score 0) last."""
    y = fits.y_eval
    rows = [RemedyScore(m, thresholds.at_threshold(y, fits.scores[m], threshold),
                        float(skm.average_precision_score(y, fits.scores[m]))) for m in METHODS]
    never = np.zeros(len(y))
    return [*rows, RemedyScore(BASELINE, thresholds.at_threshold(y, never, 0.5), float(skm.average_precision_score(y, never)))]
