"""Anomaly detection by reconstruction error: an autoencoder trained on normal images only rebuilds them
well, and anything it never saw badly. Flag an image when its error is above a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

DEFAULT_QUANTILE = 0.95  # the starting threshold flags 5% of normal validation images


@dataclass(frozen=True)
class AnomalyScores:
    errors: np.ndarray  # (N,) reconstruction error per test image: the anomaly score
    is_anomaly: np.ndarray  # (N,) bool: from a held-out class
    normal_errors: np.ndarray  # validation errors of normal images: where the threshold comes from

    @property
    def has_both(self) -> bool:
        return bool(self.is_anomaly.any() and (~self.is_anomaly).any())

    def default_threshold(self, quantile: float = DEFAULT_QUANTILE) -> float:
        ref = self.normal_errors if len(self.normal_errors) else self.errors
        return float(np.quantile(ref, quantile))

    def roc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(false positive rates, true positive rates, thresholds, AUC); scikit-learn underneath."""
        fpr, tpr, thresholds = roc_curve(self.is_anomaly, self.errors)
        return fpr, tpr, thresholds, float(roc_auc_score(self.is_anomaly, self.errors))

    def at(self, threshold: float) -> dict[str, float]:
        """What a threshold does: counts, detection rate (recall), false alarm rate and precision."""
        flagged = self.errors > threshold
        tp = int((flagged & self.is_anomaly).sum())
        fp = int((flagged & ~self.is_anomaly).sum())
        anomalies, normals = int(self.is_anomaly.sum()), int((~self.is_anomaly).sum())
        return {"flagged": int(flagged.sum()), "tp": tp, "fp": fp, "anomalies": anomalies, "normals": normals,
                "recall": tp / anomalies if anomalies else float("nan"),
                "false_alarm_rate": fp / normals if normals else float("nan"),
                "precision": tp / (tp + fp) if tp + fp else float("nan")}


def auc(errors: np.ndarray, is_anomaly: np.ndarray) -> float:
    """ROC AUC of a score (NaN when one of the two groups is empty)."""
    if not (is_anomaly.any() and (~is_anomaly).any()):
        return float("nan")
    return float(roc_auc_score(is_anomaly, errors))
