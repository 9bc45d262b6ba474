"""Classification metrics for the evaluation page: accuracy, confusion matrix, per-class scores, ROC/AUC.

Thin sklearn.metrics wrappers that survive classroom edge cases (missing classes, one class, NaN outputs).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import metrics as skm

PER_CLASS_COLUMNS = ("precision", "recall", "f1", "support")


@dataclass(frozen=True)
class ClassificationReport:
    """Everything the evaluation page shows, computed once from labels and predicted probabilities."""

    accuracy: float
    confusion: np.ndarray  # (K, K) int counts, rows = true class, cols = predicted class
    per_class: pd.DataFrame  # index = class names; columns precision, recall, f1, support
    roc: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name -> (fpr, tpr)
    auc: dict[str, float] = field(default_factory=dict)  # name -> AUC, plus "macro" when K > 2

    @property
    def class_names(self) -> list[str]:
        return [str(name) for name in self.per_class.index]


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of correct predictions; NaN for no samples (there is nothing to be right about)."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.size == 0:
        return float("nan")
    return float(skm.accuracy_score(y_true, y_pred))


def accuracy_interval(accuracy: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of an accuracy measured on `n` images (scipy's binomtest): where the true
    accuracy may lie. On 6 test images one image is 17 points, and 4 of 6 right is anywhere from 30 % to 90 %.
    (nan, nan) when nothing was measured."""
    from scipy.stats import binomtest

    if n <= 0 or not np.isfinite(accuracy):
        return float("nan"), float("nan")
    k = int(round(accuracy * n))
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _one_vs_rest(
    y_true: np.ndarray, y_prob: np.ndarray, class_names: list[str], positive: int | None = None
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, float]]:
    k = len(class_names)
    roc: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    auc: dict[str, float] = {}
    # A diverged model emits NaN/inf probabilities; sklearn rejects those, and no curve is honest then.
    if y_true.size == 0 or not np.all(np.isfinite(y_prob)):
        return roc, auc
    # For two classes one curve says it all: the positive class (class 1 unless told) against the other.
    targets = [1 if positive is None else int(positive)] if k == 2 else range(k)
    for c in targets:
        positive = y_true == c
        # ROC needs positives and negatives: skip a class absent from (or alone in) y_true.
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = skm.roc_curve(positive, y_prob[:, c])
        roc[class_names[c]] = (fpr, tpr)
        auc[class_names[c]] = float(skm.roc_auc_score(positive, y_prob[:, c]))
    if k > 2 and auc:
        # Same as roc_auc_score(multi_class="ovr", average="macro") when every class is present.
        auc["macro"] = float(np.mean(list(auc.values())))
    return roc, auc


def classification_report(
    y_true: np.ndarray, y_prob: np.ndarray, class_names: list[str], *, positive: int | None = None
) -> ClassificationReport:
    """Score predicted probabilities `y_prob` (N, K) against integer labels `y_true` (N,).

    `positive` picks the class whose ROC curve a two-class report draws (default: class 1); with more
    classes every class gets its one-vs-rest curve and `positive` is ignored."""
    if positive is not None and not 0 <= int(positive) < len(class_names):
        raise ValueError(f"positive class {positive} out of range for {len(class_names)} classes")
    class_names = [str(name) for name in class_names]
    k = len(class_names)
    y_true = np.asarray(y_true).astype(int).ravel()
    y_prob = np.asarray(y_prob, dtype=np.float64).reshape(len(y_true), k)
    y_pred = y_prob.argmax(axis=1) if len(y_true) else np.zeros(0, dtype=int)
    labels = list(range(k))

    if len(y_true):
        confusion = skm.confusion_matrix(y_true, y_pred, labels=labels)
        with warnings.catch_warnings():
            # zero_division=0 already covers empty classes; sklearn still warns about them.
            warnings.simplefilter("ignore")
            precision, recall, f1, support = skm.precision_recall_fscore_support(
                y_true, y_pred, labels=labels, zero_division=0
            )
    else:  # sklearn refuses empty input; an empty split simply scores nothing
        confusion = np.zeros((k, k), dtype=int)
        precision = recall = f1 = np.zeros(k)
        support = np.zeros(k, dtype=int)
    per_class = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(int)},
        index=pd.Index(class_names, name="class"),
    )
    roc, auc = _one_vs_rest(y_true, y_prob, class_names, positive)
    return ClassificationReport(
        accuracy=accuracy(y_true, y_pred),
        confusion=confusion.astype(int),
        per_class=per_class,
        roc=roc,
        auc=auc,
    )
