"""A two-class score and a threshold: the confusion matrix and every number of lesson 5 at that threshold,
the ROC and precision-recall curves with the threshold's point on them, and the prevalence a test set has.

The numbers are sklearn.metrics' own (precision, recall, F1, balanced accuracy, MCC); undefined ones (no
predicted positive: precision 0/0) follow sklearn's zero_division=0 and are flagged, so a page can say so."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm


@dataclass(frozen=True)
class AtThreshold:
    threshold: float
    confusion: np.ndarray  # 2x2 [[TN, FP], [FN, TP]]: rows true (negative, positive), columns predicted
    accuracy: float
    precision: float
    recall: float  # = true positive rate, sensitivity
    specificity: float
    fpr: float
    f1: float
    balanced_accuracy: float
    mcc: float
    precision_defined: bool  # False when nothing is predicted positive (precision 0/0, shown as 0)

    @property
    def tn(self) -> int:
        return int(self.confusion[0, 0])

    @property
    def fp(self) -> int:
        return int(self.confusion[0, 1])

    @property
    def fn(self) -> int:
        return int(self.confusion[1, 0])

    @property
    def tp(self) -> int:
        return int(self.confusion[1, 1])


def binary_scores(probs: np.ndarray, y: np.ndarray, positive: int) -> tuple[np.ndarray, np.ndarray]:
    """(1 for the positive class else 0, the model's probability of the positive class) per sample."""
    return (np.asarray(y) == positive).astype(int), np.asarray(probs, dtype=np.float64)[:, positive]


def predict(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Positive where the score reaches the threshold (the same `>=` as sklearn's roc_curve)."""
    return (np.asarray(scores) >= threshold).astype(int)


def at_threshold(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> AtThreshold:
    y_true = np.asarray(y_true).astype(int)
    y_pred = predict(scores, threshold)
    cm = skm.confusion_matrix(y_true, y_pred, labels=[0, 1])
    recall = float(skm.recall_score(y_true, y_pred, zero_division=0))
    specificity = float(skm.recall_score(y_true, y_pred, pos_label=0, zero_division=0))
    return AtThreshold(
        threshold=float(threshold), confusion=cm, accuracy=float(skm.accuracy_score(y_true, y_pred)),
        precision=float(skm.precision_score(y_true, y_pred, zero_division=0)), recall=recall,
        specificity=specificity, fpr=1.0 - specificity if (y_true == 0).any() else 0.0,
        f1=float(skm.f1_score(y_true, y_pred, zero_division=0)),
        balanced_accuracy=float(skm.balanced_accuracy_score(y_true, y_pred)),
        mcc=float(skm.matthews_corrcoef(y_true, y_pred)), precision_defined=bool(y_pred.any()))


@dataclass(frozen=True)
class Curves:
    fpr: np.ndarray
    tpr: np.ndarray
    roc_thresholds: np.ndarray
    precision: np.ndarray  # sklearn's order: recall falling to 0, the last point (recall 0, precision 1)
    recall: np.ndarray
    pr_thresholds: np.ndarray
    roc_auc: float
    average_precision: float  # the PR curve's area as sklearn sums it (steps, no interpolation)
    prevalence: float  # share of positives: a random classifier's precision (the PR chance line)


def curves(y_true: np.ndarray, scores: np.ndarray) -> Curves:
    """ROC and precision-recall curves; needs both classes in `y_true` (ValueError otherwise)."""
    y_true = np.asarray(y_true).astype(int)
    if y_true.min(initial=1) == y_true.max(initial=0):
        raise ValueError("both classes are needed for a ROC curve")
    fpr, tpr, roc_t = skm.roc_curve(y_true, scores, drop_intermediate=False)
    precision, recall, pr_t = skm.precision_recall_curve(y_true, scores)
    return Curves(fpr, tpr, roc_t, precision, recall, pr_t, float(skm.roc_auc_score(y_true, scores)),
                  float(skm.average_precision_score(y_true, scores)), float(y_true.mean()))


def subsample_prevalence(y_true: np.ndarray, prevalence: float, seed: int = 0) -> np.ndarray:
    """Indices of a subset with (as near as whole samples allow) `prevalence` positives: every negative kept,
    positives drawn at random (seeded) until they make that share; at least one positive stays.
    A prevalence above the data's own keeps every positive and drops negatives instead."""
    y_true = np.asarray(y_true).astype(int)
    pos, neg = np.flatnonzero(y_true == 1), np.flatnonzero(y_true == 0)
    rng = np.random.default_rng(seed)
    if not 0.0 < prevalence < 1.0:
        raise ValueError("prevalence must lie strictly between 0 and 1")
    if prevalence <= len(pos) / len(y_true):
        n_pos = max(1, round(prevalence * len(neg) / (1.0 - prevalence)))
        pos = np.sort(rng.choice(pos, size=min(n_pos, len(pos)), replace=False))
    else:
        n_neg = max(1, round(len(pos) * (1.0 - prevalence) / prevalence))
        neg = np.sort(rng.choice(neg, size=min(n_neg, len(neg)), replace=False))
    return np.sort(np.concatenate([pos, neg]))


@dataclass(frozen=True)
class Paradox:
    n: int
    n_positive: int
    prevalence: float
    model: AtThreshold
    always_negative: AtThreshold  # the "classifier" that never says positive
    pr_auc: float  # average precision of the model on the subset
    pr_auc_chance: float  # a random score's: the prevalence


def accuracy_paradox(y_true: np.ndarray, scores: np.ndarray, threshold: float, prevalence: float,
                     seed: int = 0) -> Paradox:
    """The model and the always-negative baseline on a subset with `prevalence` positives."""
    idx = subsample_prevalence(y_true, prevalence, seed)
    y, s = np.asarray(y_true).astype(int)[idx], np.asarray(scores, dtype=np.float64)[idx]
    return Paradox(n=len(y), n_positive=int(y.sum()), prevalence=float(y.mean()), model=at_threshold(y, s, threshold),
                   always_negative=at_threshold(y, np.zeros(len(y)), 0.5),
                   pr_auc=float(skm.average_precision_score(y, s)), pr_auc_chance=float(y.mean()))
