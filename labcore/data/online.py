"""Online datasets through torchvision (MNIST, Fashion-MNIST, CIFAR-10), cached in the data directory.

Offline and not yet cached, they raise a `LabError` that says where the files go and what to pick
instead; nothing hangs and nothing half-downloaded is left looking valid.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from torchvision import datasets as tvd

from labcore.config import DataConfig
from labcore.data.bundle import DatasetInfo, channel_stats, make_bundle, register
from labcore.i18n import LabError

FASHION = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot")
CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

ONLINE = {
    # name: (torchvision class, input shape, class names)
    "mnist": (tvd.MNIST, (1, 28, 28), tuple(str(i) for i in range(10))),
    "fashion_mnist": (tvd.FashionMNIST, (1, 28, 28), FASHION),
    "cifar10": (tvd.CIFAR10, (3, 32, 32), CIFAR10),
}


def data_dir() -> Path:
    """Where downloads are cached: $LABCORE_DATA, else ~/.cache/labcore/data."""
    return Path(os.environ.get("LABCORE_DATA", Path.home() / ".cache" / "labcore" / "data"))


# Where torchvision keeps each set under the data directory (checked without loading or downloading anything).
FOLDERS = {"mnist": "MNIST/raw", "fashion_mnist": "FashionMNIST/raw", "cifar10": "cifar-10-batches-py"}


def is_cached(name: str) -> bool:
    """Are the files of online dataset `name` already in the data directory?"""
    folder = data_dir() / FOLDERS[name]
    return folder.is_dir() and any(folder.iterdir())


def download(name: str, progress=None) -> bool:
    """Fetch both splits of `name` (a background job on the pages: a download must never block a page)."""
    _fetch(name, train=True)
    if progress is not None:
        progress(0.5)
    _fetch(name, train=False)
    return True


def _fetch(name: str, train: bool):
    cls = ONLINE[name][0]
    root = data_dir()
    try:  # cached files first: no network needed, no network touched
        return cls(root, train=train, download=False)
    except RuntimeError:
        pass
    try:
        return cls(root, train=train, download=True)
    except Exception as e:  # URLError, HTTPError, socket errors, checksum failures...
        raise LabError("data.offline", name=name, root=str(root), reason=" ".join(str(e).split())[:200]) from e


def _as_arrays(ds) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(ds.data)
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)  # (N, C, H, W) uint8
    return x, np.asarray(ds.targets)


def _make(name: str):
    shape, classes = ONLINE[name][1], ONLINE[name][2]

    def info(cfg: DataConfig) -> DatasetInfo:
        return DatasetInfo(name, "image", shape, classes, online=True)

    def load(cfg: DataConfig):
        x, y = _as_arrays(_fetch(name, train=True))
        x_test, y_test = _as_arrays(_fetch(name, train=False))
        if cfg.n_samples:  # a seeded subset keeps big sets quick on a laptop CPU
            keep = np.random.default_rng(cfg.seed).permutation(len(y))[: cfg.n_samples]
            x, y = x[keep], y[keep]
        # The official test set stays the test set; validation is carved from the training set.
        idx_train, idx_val = train_test_split(
            np.arange(len(y)), test_size=cfg.val_fraction, stratify=y, random_state=cfg.seed
        )
        parts = ((x[idx_train], y[idx_train]), (x[idx_val], y[idx_val]), (x_test, y_test))
        bundle = make_bundle(info(cfg), parts, normalise_stats=False)
        # Images stay uint8 in memory (4x smaller); the trainer scales each batch to [0, 1].
        bundle.mean, bundle.std = channel_stats(bundle.x_train[:5000].float() / 255)
        return bundle

    load.__doc__ = f"{name} through torchvision (downloads once, then cached)."
    return load, info


for _name in ONLINE:
    _load, _info = _make(_name)
    register(_name, _info)(_load)
