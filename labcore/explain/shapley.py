"""SHAP values: share a prediction out among the input features, fairly in the game-theory sense.

For a row x, SHAP gives each feature a number; together they add up exactly to f(x) - E[f(X)]
(the model's output here minus its average over background data). Tabular models use
`shap.DeepExplainer` (DeepLIFT with many baselines), which keeps that sum exact for ReLU networks;
images use `shap.GradientExplainer` (expected gradients), which is faster for many pixels but only
approximately additive. Next to SHAP, permutation importance asks a different question: how much
does test accuracy drop when one feature's column is shuffled?
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.inspection import permutation_importance
from torch import nn

from labcore.data import DataBundle
from labcore.explain.locking import exclusive

_SHAP_LOCK = threading.Lock()  # shap patches the model's modules while it runs; tabs take turns


@dataclass(frozen=True, eq=False)
class TabularShap:
    values: np.ndarray  # (rows, features, classes): SHAP values of each class's logit
    base: np.ndarray  # (classes,): E[f(X)] over the background rows
    outputs: np.ndarray  # (rows, classes): f(x), the logits being explained
    x: np.ndarray  # (rows, features): the explained rows (standardised values)
    feature_names: list[str]
    class_names: list[str]
    perm_mean: np.ndarray  # (features,): drop in accuracy when the column is shuffled
    perm_std: np.ndarray


class _Fitted(ClassifierMixin, BaseEstimator):
    """Just enough of scikit-learn's estimator interface for `permutation_importance`."""

    def __init__(self, model: nn.Module, n_classes: int = 2):
        self.model, self.n_classes = model, n_classes
        self.classes_ = np.arange(n_classes)

    def fit(self, *_):  # already trained
        return self

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model(torch.as_tensor(x, dtype=torch.float32)).argmax(1).numpy()


def _as_class_last(values, n_classes: int) -> np.ndarray:
    """shap returns a list of per-class arrays (old) or one array with classes last (new): unify."""
    if isinstance(values, list):
        return np.stack([np.asarray(v) for v in values], axis=-1)
    a = np.asarray(values)
    return a if a.shape[-1] == n_classes else a[..., None]


def tabular_shap(model: nn.Module, data: DataBundle, rows: int = 60, background: int = 100,
                 seed: int = 0) -> TabularShap:
    """SHAP values of the first `rows` test rows, against `background` random training rows."""
    import shap  # heavy import (numba): only when someone asks for SHAP

    model = model.cpu().eval()
    rng = np.random.default_rng(seed)
    bg = data.x_train[rng.choice(len(data.x_train), min(background, len(data.x_train)), replace=False)].float()
    x = data.x_test[:rows].float()
    with _SHAP_LOCK, warnings.catch_warnings():
        # Standardize is affine, which DeepLIFT passes through unchanged: shap's warning about it is noise.
        warnings.filterwarnings("ignore", message="unrecognized nn.Module")
        explainer = shap.DeepExplainer(model, bg)
        values = explainer.shap_values(x, check_additivity=False)  # the test checks additivity itself
    k = data.num_classes
    with torch.no_grad():
        outputs = model(x).numpy()
    perm = permutation_importance(_Fitted(model, k), data.x_test.numpy(), data.y_test.numpy(), scoring="accuracy",
                                  n_repeats=5, random_state=seed)
    names = data.extras.get("feature_names") or [f"x{i}" for i in range(x.shape[1])]
    return TabularShap(_as_class_last(values, k), np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)),
                       outputs, x.numpy(), list(names), data.class_names, perm.importances_mean,
                       perm.importances_std)


@exclusive
def image_shap(model: nn.Module, image: torch.Tensor, background: torch.Tensor, samples: int = 64,
               seed: int = 0) -> np.ndarray:
    """Per-class SHAP maps (classes, H, W) of one image (C, H, W), summed over colour channels."""
    import shap

    model = model.eval()
    with _SHAP_LOCK:
        explainer = shap.GradientExplainer(model, background.float())
        values = explainer.shap_values(image.float().unsqueeze(0), nsamples=samples, rseed=seed)
    with torch.no_grad():
        k = model(image.float().unsqueeze(0)).shape[1]
    a = _as_class_last(values, k)[0]  # (C, H, W, classes)
    return a.sum(0).transpose(2, 0, 1)
