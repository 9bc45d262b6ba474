"""Is a confidence of 90 % right 90 % of the time? The reliability diagram (sklearn.calibration), the expected
calibration error, and temperature scaling: one scalar T fitted on the validation split (LBFGS on log T, so T
stays positive) that divides every logit. Dividing by T > 0 keeps the largest logit the largest, so accuracy
cannot change, only the confidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.calibration import calibration_curve
from sklearn.metrics import log_loss

from labcore.evaluation.models import softmax
from labcore.explain.features import single_thread

BINS = (5, 10, 15, 20)


def confidence_and_correct(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The top class's probability and whether the top class is the true one (top-label calibration)."""
    probs = np.asarray(probs, dtype=np.float64)
    return probs.max(axis=1), (probs.argmax(axis=1) == np.asarray(y)).astype(int)


def _bin_of(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins over [0, 1] exactly as sklearn's calibration_curve(strategy="uniform") cuts them: a value
    on an edge belongs to the lower bin (0.1 is in the first of ten)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], confidence)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """ECE = sum over bins of (share of samples in the bin) * |accuracy in the bin - mean confidence in it|."""
    confidence, correct = np.asarray(confidence, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    if confidence.size == 0:
        return float("nan")
    bins = _bin_of(confidence, n_bins)
    total = 0.0
    for b in np.unique(bins):
        inside = bins == b
        total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


@dataclass(frozen=True)
class Reliability:
    accuracy: np.ndarray  # per non-empty bin: share correct (sklearn's prob_true)
    confidence: np.ndarray  # per non-empty bin: mean confidence (sklearn's prob_pred)
    counts: np.ndarray  # samples per non-empty bin
    ece: float
    nll: float  # mean negative log-likelihood of the true class (sklearn's log_loss)
    accuracy_total: float


def reliability(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> Reliability:
    probs = np.asarray(probs, dtype=np.float64)
    confidence, correct = confidence_and_correct(probs, y)
    if correct.min() == correct.max():  # all right (or all wrong): sklearn's curve still works on one label
        acc_bins, conf_bins = _by_hand(confidence, correct, n_bins)
    else:
        acc_bins, conf_bins = calibration_curve(correct, confidence, n_bins=n_bins, strategy="uniform")
    counts = np.bincount(_bin_of(confidence, n_bins), minlength=n_bins)
    return Reliability(acc_bins, conf_bins, counts[counts > 0], expected_calibration_error(confidence, correct, n_bins),
                       float(log_loss(y, probs, labels=list(range(probs.shape[1])))), float(correct.mean()))


def _by_hand(confidence: np.ndarray, correct: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    bins = _bin_of(confidence, n_bins)
    used = np.unique(bins)
    return (np.array([correct[bins == b].mean() for b in used]), np.array([confidence[bins == b].mean() for b in used]))


T_RANGE = (0.05, 20.0)  # a validation split the model gets all right pulls T towards 0: stop somewhere sensible


def fit_temperature(logits: np.ndarray, y: np.ndarray, iterations: int = 50) -> float:
    """The T > 0 (within T_RANGE) that minimises the cross-entropy of softmax(logits / T) on (`logits`, `y`):
    torch LBFGS on log T, started from the best of a coarse grid."""
    z, target = torch.as_tensor(logits, dtype=torch.float64), torch.as_tensor(y, dtype=torch.long)
    lo, hi = np.log(T_RANGE[0]), np.log(T_RANGE[1])
    with single_thread(), torch.no_grad():
        grid = torch.linspace(lo, hi, 41, dtype=torch.float64)
        start = grid[int(torch.stack([F.cross_entropy(z / g.exp(), target) for g in grid]).argmin())]
    log_t = start.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(z / log_t.clamp(lo, hi).exp(), target)
        loss.backward()
        return loss

    with single_thread():
        opt.step(closure)
    value = float(log_t.detach())
    return float(np.exp(np.clip(value if np.isfinite(value) else float(start), lo, hi)))


@dataclass(frozen=True)
class Calibration:
    temperature: float
    before: Reliability  # on the test split, T = 1
    after: Reliability  # on the test split, the fitted T


def calibrate(logits_val: np.ndarray, y_val: np.ndarray, logits_test: np.ndarray, y_test: np.ndarray,
              n_bins: int = 10) -> Calibration:
    """T from the validation split, judged on the test split (fitting and judging on one split would flatter it)."""
    t = fit_temperature(logits_val, y_val)
    return Calibration(t, reliability(softmax(logits_test), y_test, n_bins),
                       reliability(softmax(logits_test, t), y_test, n_bins))
