"""Source tasks (what the lab's own backbones are pretrained on) and target tasks (what we transfer to).

Built-in, offline pairs: digits 0-4 -> digits 5-9, and circles/squares -> triangles/crosses. The domain-gap
demo transfers a digits backbone to coloured shapes. Online: CIFAR-10 cats vs dogs and Oxford-IIIT Pet
through torchvision (a clear `LabError` offline). "Few labels" cuts only the training split: validation and
test stay whole so accuracies are measured on enough images to mean something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from sklearn import datasets as skd

from labcore.config import DataConfig
from labcore.data import DataBundle, DatasetInfo, load_dataset
from labcore.data.bundle import channel_stats, make_bundle, split_arrays
from labcore.data.online import data_dir
from labcore.data.shapes import SHAPE_NAMES, make_shapes
from labcore.i18n import LabError
from labcore.registry import Registry

LABELS_PER_CLASS = (5, 20, 0)  # 0: every training image
PET_SIZE = 96  # Oxford pets are stored at this size (uint8); the model's wrapper resizes again


DIGIT_CANVAS = 16


# -- digits on a canvas: the built-in pair's images -------------------------------------------------------------
def scatter_digits(images: np.ndarray, size: int = DIGIT_CANVAS, seed: int = 0) -> np.ndarray:
    """Each 8x8 digit (values in [0, 1]) scaled to 8-13 px, dropped at a random place on a noisy canvas.

    On scikit-learn's centred 8x8 digits a network from scratch needs only a handful of examples; where and
    how big a digit is must be learnt too here, which is what a backbone pretrained on many digits brings.
    """
    rng = np.random.default_rng(seed)
    n = len(images)
    out = rng.uniform(0, 0.25, size=(n, size, size)).astype(np.float32)  # background haze
    scales = rng.integers(8, 14, size=n)
    for s in np.unique(scales):
        idx = np.flatnonzero(scales == s)
        big = F.interpolate(torch.from_numpy(images[idx][:, None]).float(), size=(int(s), int(s)), mode="bilinear",
                            align_corners=False)[:, 0].numpy()
        for j, i in enumerate(idx):
            y, x = rng.integers(0, size - s + 1, size=2)
            out[i, y : y + s, x : x + s] = np.maximum(out[i, y : y + s, x : x + s], big[j] * rng.uniform(0.6, 1.0))
    out += rng.normal(0, 0.05, size=out.shape).astype(np.float32)
    return np.clip(out, 0, 1)[:, None]  # (N, 1, size, size)


def _digits(keep: list[int], seed: int, copies: int = 1) -> tuple[np.ndarray, np.ndarray]:
    d = skd.load_digits()
    mask = np.isin(d.target, keep)
    images, labels = np.repeat(d.images[mask] / 16.0, copies, 0), np.repeat(d.target[mask], copies)
    return scatter_digits(images, seed=seed), labels


# -- sources: images and labels a lab backbone is pretrained on --------------------------------------------------
def source_task(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, C, H, W) float in [0, 1], labels (N,)) of a built-in source task."""
    if name == "digits_0_4":
        x, y = _digits([0, 1, 2, 3, 4], seed=1001, copies=2)  # every source digit twice, placed differently
        return torch.from_numpy(x), torch.from_numpy(y).long()
    if name == "shapes_circle_square":
        x, y, _ = make_shapes(1200, 32, seed=101)  # another seed than the target's images
        keep = y < 2
        return torch.from_numpy(x[keep]), torch.from_numpy(y[keep]).long()
    raise KeyError(f"unknown source task {name!r}")


# -- targets ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetSpec:
    load: Callable[[int], DataBundle]  # seed -> the whole target set (few labels is applied afterwards)
    backbone: str  # the backbone the page suggests for it
    online: bool = False


TARGETS = Registry("transfer target")


def keep_classes(data: DataBundle, keep: list[int], name: str, class_names: list[str] | None = None) -> DataBundle:
    """Only the classes in `keep`, relabelled 0..len(keep)-1."""
    lookup = torch.full((data.num_classes,), -1, dtype=torch.long)
    lookup[torch.tensor(keep)] = torch.arange(len(keep))
    parts = []
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)):
        mask = lookup[y] >= 0
        parts += [x[mask], lookup[y[mask]]]
    names = tuple(class_names or [data.class_names[k] for k in keep])
    info = DatasetInfo(name, "image", data.input_shape, names, online=data.info.online)
    return DataBundle(info, *parts, mean=data.mean, std=data.std)


def few_labels(data: DataBundle, per_class: int, seed: int = 0) -> DataBundle:
    """The first `per_class` training images of each class in a seeded order (0: all of them)."""
    if per_class <= 0:
        return data
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(seed))
    picked = torch.cat([order[data.y_train[order] == c][:per_class] for c in range(data.num_classes)])
    picked = picked.sort().values
    return DataBundle(data.info, data.x_train[picked], data.y_train[picked], data.x_val, data.y_val,
                      data.x_test, data.y_test, mean=data.mean, std=data.std, extras=dict(data.extras))


def load_target(name: str, labels_per_class: int = 0, seed: int = 0) -> DataBundle:
    data = TARGETS.get(name).load(seed)
    return few_labels(data, labels_per_class, seed)


def _target(name: str, backbone: str, online: bool = False):
    def add(fn: Callable[[int], DataBundle]):
        TARGETS.register(name)(TargetSpec(fn, backbone, online))
        return fn

    return add


@_target("digits_5_9", "lab_digits")
def _digits_5_9(seed: int) -> DataBundle:
    x, y = _digits([5, 6, 7, 8, 9], seed=seed)
    info = DatasetInfo("digits_5_9", "image", x.shape[1:], tuple(str(d) for d in range(5, 10)))
    return make_bundle(info, split_arrays(x, y - 5, DataConfig("digits_5_9", seed=seed)))


@_target("shapes_new", "lab_shapes")
def _shapes_new(seed: int) -> DataBundle:
    return keep_classes(load_dataset(DataConfig("shapes", seed=seed, n_samples=1200)), [2, 3], "shapes_new")


@_target("shapes_all", "lab_digits")
def _shapes_all(seed: int) -> DataBundle:
    """The domain-gap demo: a backbone that only ever saw grey digits meets coloured shapes."""
    return keep_classes(load_dataset(DataConfig("shapes", seed=seed, n_samples=1200)), [0, 1, 2, 3], "shapes_all",
                        list(SHAPE_NAMES))


@_target("cifar_cat_dog", "resnet18", online=True)
def _cifar_cat_dog(seed: int) -> DataBundle:
    return keep_classes(load_dataset(DataConfig("cifar10", seed=seed)), [3, 5], "cifar_cat_dog", ["cat", "dog"])


@lru_cache(maxsize=2)
def _pet_arrays(split: str, binary: bool) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Oxford-IIIT Pet through torchvision, every photo centre-cropped to PET_SIZE px, as uint8 arrays."""
    from PIL import ImageOps
    from torchvision.datasets import OxfordIIITPet

    root = data_dir()
    kind = "binary-category" if binary else "category"
    try:
        try:
            ds = OxfordIIITPet(root, split=split, target_types=kind, download=False)
        except RuntimeError:  # not on disk yet
            ds = OxfordIIITPet(root, split=split, target_types=kind, download=True)
    except Exception as e:  # URLError, HTTPError, socket errors, broken archives...
        raise LabError("transfer.target_offline", name="Oxford-IIIT Pet", root=str(root),
                       reason=" ".join(str(e).split())[:200]) from e
    images, labels = [], []
    for img, label in ds:
        images.append(np.asarray(ImageOps.fit(img.convert("RGB"), (PET_SIZE, PET_SIZE))).transpose(2, 0, 1))
        labels.append(label)
    names = ("cat", "dog") if binary else tuple(ds.classes)
    return np.stack(images), np.asarray(labels), names


def _pets(name: str, binary: bool, seed: int) -> DataBundle:
    x, y, names = _pet_arrays("trainval", binary)
    x_test, y_test, _ = _pet_arrays("test", binary)
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = len(y) // 6
    val, train = order[:n_val], order[n_val:]
    t = torch.from_numpy
    bundle = DataBundle(DatasetInfo(name, "image", (3, PET_SIZE, PET_SIZE), names, online=True),
                        t(x[train]), t(y[train]).long(), t(x[val]), t(y[val]).long(), t(x_test), t(y_test).long())
    bundle.mean, bundle.std = channel_stats(bundle.x_train[:2000].float() / 255)
    return bundle


@_target("pets_binary", "resnet18", online=True)
def _pets_binary(seed: int) -> DataBundle:
    return _pets("pets_binary", True, seed)


@_target("pets_37", "resnet18", online=True)
def _pets_37(seed: int) -> DataBundle:
    return _pets("pets_37", False, seed)
