"""Lesson 3's losses, every number from torch.nn.functional: binary cross-entropy (Eq. 3.1) and MSE (Eq. 3.5)
as functions of the prediction ŷ, and multiclass cross-entropy from logits through softmax to −log p(true)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

P_RANGE = (0.01, 0.99)  # ŷ on the curves and the slider: log(0) would be infinite
N_CLASSES = 3
LOGIT_RANGE = (-5.0, 5.0)


def _t(v) -> torch.Tensor:
    return torch.as_tensor(np.asarray(v, dtype=np.float64))


def bce(p, y: int) -> np.ndarray:
    """−[y·log ŷ + (1−y)·log(1−ŷ)] for each ŷ in `p` (F.binary_cross_entropy, no reduction)."""
    p = _t(p)
    return F.binary_cross_entropy(p, torch.full_like(p, float(y)), reduction="none").numpy()


def mse(p, y: int) -> np.ndarray:
    """(ŷ − y)² for each ŷ in `p` (F.mse_loss, no reduction)."""
    p = _t(p)
    return F.mse_loss(p, torch.full_like(p, float(y)), reduction="none").numpy()


def loss_curves(n: int = 197) -> dict[str, np.ndarray]:
    """ŷ over P_RANGE and the four curves: BCE and MSE for y = 0 and y = 1."""
    p = np.linspace(*P_RANGE, n)
    return {"p": p, "bce0": bce(p, 0), "bce1": bce(p, 1), "mse0": mse(p, 0), "mse1": mse(p, 1)}


@dataclass(frozen=True)
class CrossEntropy:
    logits: np.ndarray
    probs: np.ndarray  # softmax(logits)
    target: int
    loss: float  # F.cross_entropy(logits, target)
    neg_log_p: float  # −log p[target], the same number by another road

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probs))


def cross_entropy(logits, target: int) -> CrossEntropy:
    z = _t(logits)
    probs = F.softmax(z, dim=0)
    loss = F.cross_entropy(z[None], torch.tensor([int(target)]))
    return CrossEntropy(z.numpy(), probs.numpy(), int(target), float(loss), float(-torch.log(probs[int(target)])))
