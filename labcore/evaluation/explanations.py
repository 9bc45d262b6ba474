"""Explaining the deep-vs-classic tab's MLP (lessons 15 and 22): SHAP values of its class probabilities for test
rows, and the correlated-features demo (append an exact copy of one column, refit, and watch permutation importance
split that column's credit between the twins).

SHAP: shap's PermutationExplainer on the MLP's predict_proba, with an independent masker over 50 training rows.
Each permutation adds the features one by one, so a row's values add up exactly (to rounding) to its probability
minus the average probability over those 50 rows: base + sum = f(x). The MLP is the tab's own network (same
seed, same steps: importance.MLPClassifier trains it exactly as models.fit_mlp does).

Twins: permutation importance here is the rise of the Brier score (the mean squared error of the predicted
probabilities) when one test column is shuffled; on a test split of 27 or 86 rows accuracy moves in whole rows,
the Brier score smoothly. The same seeds before and after, so the only change is the copied column."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from sklearn.inspection import permutation_importance
from threadpoolctl import threadpool_limits

from labcore.data import load_dataset
from labcore.evaluation.importance import MLPClassifier, estimator, feature_names
from labcore.evaluation.models import Split
from labcore.i18n import t

ROWS = 60  # test rows explained (all of them on a smaller test split)
BACKGROUND = 50  # training rows the masker fills hidden features from: E[f(X)] is their average output
CHUNK = 10  # rows per explainer call, for the progress bar
MAX_EVALS = 2000  # model calls (of BACKGROUND rows each) per explained row: 1 s for 60 rows of breast cancer
TWIN_DATASETS = ("breast_cancer", "wine")  # digits: 65 pixel columns, too slow to shuffle one by one here
TWIN_MODELS = ("mlp", "forest")
TWIN_REPEATS = 10
TWIN_SCORING = "neg_brier_score"
# The column each table duplicates by default: the random forest's most important one (Brier), checked by a test.
STRONGEST = {"breast_cancer": "worst perimeter", "wine": "proline"}


def explained_rows(name: str) -> int:
    return min(ROWS, len(load_dataset(name).y_test))


def columns(name: str, lang: str = "en") -> tuple[str, ...]:
    """The table's column names; digits has none: its 64 columns are the pixels of an 8x8 image."""
    if "feature_names" in load_dataset(name).extras:
        return feature_names(name)
    return tuple(t("evaluation.explain.pixel", lang, row=r, col=c) for r in range(8) for c in range(8))


@dataclass(frozen=True, eq=False)
class ProbabilityShap:
    values: np.ndarray  # (rows, features, classes): each feature's share of each class probability
    base: np.ndarray  # (classes,): the average probability over the background rows, E[f(X)]
    outputs: np.ndarray  # (rows, classes): the MLP's own probabilities for the explained rows, f(x)
    x: np.ndarray  # (rows, features): the explained test rows (standardised, as the model sees them)
    y: np.ndarray  # (rows,): their true classes
    background: np.ndarray  # (BACKGROUND, features): the training rows behind E[f(X)]
    feature_names: tuple[str, ...]
    seconds: float  # the SHAP computation alone (not the 0.1 s fit)


def fit_model(split: Split, seed: int = 0) -> MLPClassifier:
    return MLPClassifier(seed=seed).fit(split.x_train, split.y_train)


def shap_values(split: Split, rows: int = ROWS, background: int = BACKGROUND, max_evals: int = MAX_EVALS,
                seed: int = 0, model: MLPClassifier | None = None,
                progress: Callable[[float], None] | None = None) -> ProbabilityShap:
    """SHAP values of every class probability of the MLP for the first `rows` test rows (`progress`: told the
    share done after each chunk of rows; the first call in a process also compiles shap's numba code, ~4 s)."""
    import shap  # heavy import (numba): only when someone asks for SHAP

    model = model if model is not None else fit_model(split, seed)
    rng = np.random.default_rng(seed)
    bg = split.x_train[rng.choice(len(split.x_train), min(background, len(split.x_train)), replace=False)]
    x = split.x_test[:rows]
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        explainer = shap.PermutationExplainer(model.predict_proba, shap.maskers.Independent(bg, max_samples=len(bg)),
                                              seed=seed)
        values, bases = [], []
        for lo in range(0, len(x), CHUNK):
            explained = explainer(x[lo:lo + CHUNK], max_evals=max(max_evals, 2 * x.shape[1] + 1), silent=True)
            values.append(np.asarray(explained.values, dtype=np.float64))
            bases.append(np.asarray(explained.base_values, dtype=np.float64))
            if progress is not None and lo + CHUNK < len(x):
                progress((lo + CHUNK) / len(x))
        seconds = time.perf_counter() - start
    base = np.concatenate(bases)  # (rows, classes): the same average on every row
    return ProbabilityShap(np.concatenate(values), base[0],
                           model.predict_proba(x).astype(np.float64), x, split.y_test[:rows], bg,
                           columns(split.name), seconds)


@dataclass(frozen=True, eq=False)
class TwinImportance:
    model: str  # one of TWIN_MODELS
    feature: int  # the duplicated column; its copy is the last column after
    before_mean: np.ndarray  # (features,): Brier rise per shuffled column, original table
    before_std: np.ndarray
    after_mean: np.ndarray  # (features + 1,): with the copy appended
    after_std: np.ndarray
    accuracy_before: float  # test accuracy, unshuffled
    accuracy_after: float

    @property
    def alone(self) -> float:
        return float(self.before_mean[self.feature])

    @property
    def twins(self) -> tuple[float, float]:
        return float(self.after_mean[self.feature]), float(self.after_mean[-1])


def with_copy(split: Split, column: int) -> Split:
    """`split` with an exact copy of `column` appended to every part."""
    def add(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, x[:, [column]]], axis=1)

    return replace(split, x_train=add(split.x_train), x_val=add(split.x_val), x_test=add(split.x_test))


def _importance(split: Split, model: str, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    est = estimator(model, seed).fit(split.x_train, split.y_train)
    r = permutation_importance(est, split.x_test, split.y_test, scoring=TWIN_SCORING, n_repeats=TWIN_REPEATS,
                               random_state=seed, n_jobs=1)
    return np.asarray(r.importances_mean), np.asarray(r.importances_std), float(est.score(split.x_test, split.y_test))


def twin_importance(split: Split, feature: str, models: tuple[str, ...] = TWIN_MODELS, seed: int = 0,
                    progress: Callable[[float], None] | None = None) -> list[TwinImportance]:
    """For each model: permutation importance on the table, and again refitted with a copy of `feature` appended."""
    j = feature_names(split.name).index(feature)
    doubled = with_copy(split, j)
    out, done = [], 0
    with threadpool_limits(limits=1):
        for model in models:
            before = _importance(split, model, seed)
            done += 1
            if progress is not None:
                progress(done / (2 * len(models)))
            after = _importance(doubled, model, seed)
            done += 1
            if progress is not None and done < 2 * len(models):
                progress(done / (2 * len(models)))
            out.append(TwinImportance(model, j, before[0], before[1], after[0], after[1], before[2], after[2]))
    return out
