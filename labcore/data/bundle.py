"""The `DataBundle` every dataset returns, the seeded stratified split, and the registry itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from labcore.config import DataConfig
from labcore.registry import Registry

DATASETS = Registry("dataset")


@dataclass(frozen=True)
class DatasetInfo:
    """What the registry knows before loading: shown in the picker, used for model compatibility."""

    name: str
    kind: str  # "image", "tabular", "points" (2-D toys), "tokens" or "series" (channels-first sequences)
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]  # for task "regression": the names of the outputs (e.g. t+1, t+2)
    online: bool = False  # needs a download the first time
    task: str = "classification"  # or "regression" (forecasting): MSE loss, no accuracy
    # Two-class data: the class of interest, the ROC curve's positive class by default (None: class 1)
    positive: int | None = None


@dataclass
class DataBundle:
    """Train/val/test tensors of one dataset. Images are float in [0, 1] (or uint8, scaled per batch)."""

    info: DatasetInfo
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    # Per-channel statistics of the training images (or features): models normalise inside themselves,
    # so attacks and explanations can work on raw [0, 1] pixels.
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    extras: dict[str, object] = field(default_factory=dict)  # e.g. "masks_test" for shapes

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def class_names(self) -> list[str]:
        return list(self.info.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.info.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.info.input_shape

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def split_arrays(x: np.ndarray, y: np.ndarray, cfg: DataConfig, *extra: np.ndarray):
    """Seeded, stratified train/val/test split (default 70/15/15). Extra arrays are split alongside.

    Returns ((x, y, *extra) for train, for val, for test).
    """
    idx = np.arange(len(y))
    holdout = cfg.val_fraction + cfg.test_fraction
    idx_train, idx_rest = train_test_split(idx, test_size=holdout, stratify=y, random_state=cfg.seed)
    idx_val, idx_test = train_test_split(
        idx_rest, test_size=cfg.test_fraction / holdout, stratify=y[idx_rest], random_state=cfg.seed
    )
    return tuple(tuple(a[i] for a in (x, y, *extra)) for i in (idx_train, idx_val, idx_test))


def stratified_subset(y: np.ndarray | torch.Tensor, fraction: float, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded, stratified `fraction` of the examples (every class keeps its share, and at
    least one example). A fraction of 1 or more keeps everything, in order."""
    y = np.asarray(y)
    idx = np.arange(len(y))
    if fraction >= 1:
        return idx
    classes = np.unique(y)
    keep = max(len(classes), round(fraction * len(y)))
    if keep >= len(y):
        return idx
    chosen, _ = train_test_split(idx, train_size=keep, stratify=y, random_state=seed)
    return np.sort(chosen)


def channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean/std over (N, C, ...) for images, or per-feature for flat inputs."""
    x = x.float()
    dims = [0] + list(range(2, x.dim()))
    mean, std = x.mean(dim=dims), x.std(dim=dims).clamp_min(1e-6)
    return tuple(mean.tolist()), tuple(std.tolist())


def make_bundle(info: DatasetInfo, parts, *, normalise_stats: bool = True, **extras) -> DataBundle:
    """Wrap numpy splits (from `split_arrays`) into tensors, computing training statistics."""
    (xtr, ytr, *_), (xva, yva, *_), (xte, yte, *_) = parts
    tensors = [torch.as_tensor(np.ascontiguousarray(a)) for a in (xtr, ytr, xva, yva, xte, yte)]
    tensors[1::2] = [y.long() for y in tensors[1::2]]
    mean, std = channel_stats(tensors[0]) if normalise_stats else ((), ())
    return DataBundle(info, *tensors, mean=mean, std=std, extras=dict(extras))


_INFO: dict[str, Callable[[DataConfig], DatasetInfo]] = {}


def register(name: str, info: Callable[[DataConfig], DatasetInfo]):
    """Register a loader `fn(cfg) -> DataBundle` with an `info(cfg)` describing it without loading."""

    def add(fn):
        DATASETS.register(name)(fn)
        _INFO[name] = info
        return fn

    return add


def dataset_info(name: str, cfg: DataConfig | None = None) -> DatasetInfo:
    DATASETS.get(name)  # raises the friendly unknown-name error
    return _INFO[name](cfg or DataConfig(name=name))


def load_dataset(cfg: DataConfig | str) -> DataBundle:
    """Load (and cache) a dataset: `load_dataset("digits")` or `load_dataset(DataConfig(...))`."""
    if isinstance(cfg, str):
        cfg = DataConfig(name=cfg)
    return _load_cached(cfg)


@lru_cache(maxsize=8)
def _load_cached(cfg: DataConfig) -> DataBundle:
    bundle = DATASETS.build(cfg.name, cfg=cfg)
    if not cfg.standardize:  # no statistics: the model's Standardize layer passes raw inputs through
        bundle.mean, bundle.std = (), ()
    return bundle
