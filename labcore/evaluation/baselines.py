"""Deep against classic on a table (lessons 1 and 22): the lab's small MLP next to scikit-learn's usual
baselines, each fitted on the same training split and scored on the same test split, with its fit time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from labcore.evaluation.models import DECAY, STEPS, Split, fit_mlp

MODELS = ("mlp", "logreg", "forest", "boosting", "knn")


def _classic(name: str, seed: int):
    if name == "logreg":
        return LogisticRegression(max_iter=2000)
    if name == "forest":
        return RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=seed)
    if name == "boosting":
        return HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    if name == "knn":
        return KNeighborsClassifier(n_neighbors=5)
    raise ValueError(f"unknown model {name!r}")


@dataclass(frozen=True)
class Score:
    model: str  # one of MODELS
    accuracy: float
    balanced_accuracy: float
    fit_seconds: float  # training only (for k-NN: storing the table)


def score(name: str, y_true: np.ndarray, y_pred: np.ndarray, seconds: float) -> Score:
    return Score(name, float(skm.accuracy_score(y_true, y_pred)), float(skm.balanced_accuracy_score(y_true, y_pred)),
                 float(seconds))


def fit_classic(name: str, split: Split, seed: int = 0) -> Score:
    """One thread (OpenMP, BLAS): on a busy 2-core machine competing threads made boosting 10 times slower."""
    model = _classic(name, seed)
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        model.fit(split.x_train, split.y_train)
        seconds = time.perf_counter() - start
        predicted = model.predict(split.x_test)
    return score(name, split.y_test, predicted, seconds)


def compare(split: Split, seed: int = 0, steps: int = STEPS, weight_decay: float = DECAY,
            progress: Callable[[float], None] | None = None) -> list[Score]:
    """Every model of MODELS on `split`, in that order (`progress`: told the share done after each model)."""
    mlp = fit_mlp(split, steps=steps, seed=seed, weight_decay=weight_decay)
    out = [score("mlp", split.y_test, mlp.logits_test.argmax(axis=1), mlp.seconds)]
    for name in MODELS[1:]:
        if progress is not None:
            progress(len(out) / len(MODELS))
        out.append(fit_classic(name, split, seed))
    return out
