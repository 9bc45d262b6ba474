"""Permutation importance (lessons 5 and 22): how much the test accuracy drops when one column's values are shuffled,
by sklearn.inspection.permutation_importance (10 repeats: a mean and a spread per feature), for the lab's MLP
(wrapped as an sklearn classifier) and for a classic model, on the same test split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.inspection import permutation_importance
from threadpoolctl import threadpool_limits

from labcore.data import load_dataset
from labcore.evaluation.baselines import _classic
from labcore.evaluation.models import DECAY, LR, STEPS, Split, build_mlp
from labcore.explain.features import single_thread

REPEATS = 10


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """The Evaluation page's MLP (labcore.evaluation.models) behind sklearn's fit / predict / predict_proba."""

    def __init__(self, steps: int = STEPS, lr: float = LR, weight_decay: float = DECAY, seed: int = 0):
        self.steps, self.lr, self.weight_decay, self.seed = steps, lr, weight_decay, seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> MLPClassifier:
        self.classes_ = np.unique(y)
        target = torch.from_numpy(np.searchsorted(self.classes_, y)).long()
        self.model_ = build_mlp(x.shape[1], len(self.classes_), self.seed)
        opt = torch.optim.AdamW(self.model_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        inputs = torch.as_tensor(np.asarray(x, dtype=np.float32))
        with single_thread():
            for _ in range(self.steps):
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(self.model_(inputs), target).backward()
                opt.step()
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        with single_thread(), torch.no_grad():
            return torch.softmax(self.model_(torch.as_tensor(np.asarray(x, dtype=np.float32))), dim=1).numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]


@dataclass(frozen=True)
class Importance:
    model: str  # "mlp" or one of baselines.MODELS
    features: tuple[str, ...]
    mean: np.ndarray  # the accuracy drop per feature, averaged over the repeats
    std: np.ndarray  # its standard deviation over the repeats
    accuracy: float  # the unshuffled test accuracy


def estimator(model: str, seed: int = 0):
    return MLPClassifier(seed=seed) if model == "mlp" else _classic(model, seed)


def feature_names(name: str) -> tuple[str, ...]:
    return tuple(load_dataset(name).extras["feature_names"])


def importance(split: Split, model: str, repeats: int = REPEATS, seed: int = 0) -> Importance:
    """Fit `model` on the training split, then shuffle each test column `repeats` times (seeded)."""
    est = estimator(model, seed)
    with threadpool_limits(limits=1):
        est.fit(split.x_train, split.y_train)
        r = permutation_importance(est, split.x_test, split.y_test, scoring="accuracy", n_repeats=repeats,
                                   random_state=seed, n_jobs=1)
        accuracy = float(est.score(split.x_test, split.y_test))
    return Importance(model, feature_names(split.name), np.asarray(r.importances_mean), np.asarray(r.importances_std),
                      accuracy)
