"""Datasets that ship inside scikit-learn: digits (8x8 images), breast cancer and wine (tabular)."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as skd
from sklearn.preprocessing import StandardScaler

from labcore.config import DataConfig
from labcore.data.bundle import DatasetInfo, make_bundle, register, split_arrays

DIGIT_NAMES = tuple(str(i) for i in range(10))


def _digits_info(cfg: DataConfig) -> DatasetInfo:
    return DatasetInfo("digits", "image", (1, 8, 8), DIGIT_NAMES)


@register("digits", _digits_info)
def digits(cfg: DataConfig):
    """1,797 handwritten digits, 8x8 grey levels 0..16 scaled to [0, 1]."""
    d = skd.load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8)
    return make_bundle(_digits_info(cfg), split_arrays(x, d.target, cfg))


def _tabular(name: str, loader, cfg: DataConfig, positive: int | None = None):
    d = loader()
    x, y = d.data.astype(np.float32), d.target
    info = DatasetInfo(name, "tabular", (x.shape[1],), tuple(str(c) for c in d.target_names), positive=positive)
    train, val, test = split_arrays(x, y, cfg)
    # Standardise with training statistics only: fitting on all rows would leak the test set.
    scaler = StandardScaler().fit(train[0])
    scale = scaler.transform if cfg.standardize else np.asarray  # standardize=False: raw features, as measured
    parts = [(scale(p[0]).astype(np.float32), p[1]) for p in (train, val, test)]
    return make_bundle(info, parts, feature_names=[str(f) for f in d.feature_names])


# The class of interest is malignant (class 0): the ROC curve asks how well the model finds tumours.
@register("breast_cancer", lambda cfg: DatasetInfo("breast_cancer", "tabular", (30,), ("malignant", "benign"), positive=0))
def breast_cancer(cfg: DataConfig):
    """569 tumours, 30 measurements, malignant vs benign (standardised)."""
    return _tabular("breast_cancer", skd.load_breast_cancer, cfg, positive=0)


@register("wine", lambda cfg: DatasetInfo("wine", "tabular", (13,), ("class_0", "class_1", "class_2")))
def wine(cfg: DataConfig):
    """178 wines, 13 chemical measurements, 3 cultivars (standardised)."""
    return _tabular("wine", skd.load_wine, cfg)
