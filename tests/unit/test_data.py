"""Datasets: shapes, splits, value ranges, seeds, standardisation, masks, and the online sets offline."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from sklearn import datasets as skd
from sklearn.preprocessing import StandardScaler

from labcore.config import DataConfig
from labcore.data import DATASETS, dataset_info, load_dataset, split_arrays
from labcore.data.bundle import _load_cached
from labcore.data.shapes import make_shapes
from labcore.i18n import LabError

ONLINE = [n for n in DATASETS.names() if dataset_info(n).online]
BUILTIN = [n for n in DATASETS.names() if not dataset_info(n).online]
# Labels, stratification and seeded regeneration apply to classification sets; forecasting series
# (split by time, some of them real recordings) are checked in test_sequences.py.
CLASSIFY = [n for n in BUILTIN if dataset_info(n).task == "classification"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    _load_cached.cache_clear()
    yield
    _load_cached.cache_clear()


def _splits(b):
    return [(b.x_train, b.y_train), (b.x_val, b.y_val), (b.x_test, b.y_test)]


def test_online_and_builtin_lists():
    assert set(ONLINE) == {"mnist", "fashion_mnist", "cifar10"}
    assert len(BUILTIN) >= 9


@pytest.mark.parametrize("name", CLASSIFY)
def test_builtin_loads_with_declared_shape_and_classes(name):
    info = dataset_info(name)
    b = load_dataset(name)
    assert b.info == info and b.name == name
    for x, y in _splits(b):
        assert tuple(x.shape[1:]) == info.input_shape
        assert len(x) == len(y) > 0
        assert y.dtype == torch.long and x.dtype == torch.float32
        assert torch.isfinite(x).all()
    labels = torch.cat([b.y_train, b.y_val, b.y_test])
    assert sorted(labels.unique().tolist()) == list(range(len(info.class_names)))
    assert b.num_classes == len(info.class_names)
    # every class is present in every split
    for _, y in _splits(b):
        assert len(y.unique()) == b.num_classes
    assert len(b.mean) == len(b.std) == info.input_shape[0]


@pytest.mark.parametrize("name", CLASSIFY)
def test_split_is_70_15_15_and_stratified(name):
    b = load_dataset(name)
    sizes = b.sizes()
    total = sum(sizes.values())
    assert abs(sizes["train"] / total - 0.70) < 0.01
    assert abs(sizes["val"] / total - 0.15) < 0.01
    assert abs(sizes["test"] / total - 0.15) < 0.01
    labels = torch.cat([b.y_train, b.y_val, b.y_test])
    share = torch.bincount(labels, minlength=b.num_classes).float() / total
    for _, y in _splits(b):
        counts = torch.bincount(y, minlength=b.num_classes).float()
        # stratified: each split holds every class in (almost exactly) the overall proportion
        assert (counts - share * len(y)).abs().max() <= 1.5, (name, counts, share * len(y))


@pytest.mark.parametrize("name", [n for n in BUILTIN if dataset_info(n).kind == "image"])
def test_images_are_in_unit_range(name):
    b = load_dataset(name)
    for x, _ in _splits(b):
        assert x.min() >= 0 and x.max() <= 1
        assert x.max() > 0.5  # not all dark: the scale really is [0, 1], not [0, 1/255]


@pytest.mark.parametrize("name", CLASSIFY)
def test_same_seed_same_data_other_seed_other_data(name):
    first = load_dataset(DataConfig(name=name, seed=3))
    _load_cached.cache_clear()
    again = load_dataset(DataConfig(name=name, seed=3))
    assert first is not again
    for (x1, y1), (x2, y2) in zip(_splits(first), _splits(again), strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    other = load_dataset(DataConfig(name=name, seed=4))
    assert other.sizes() == first.sizes()
    assert not torch.equal(other.x_train, first.x_train)
    assert not torch.equal(other.x_test, first.x_test)


def test_load_dataset_accepts_a_name_and_caches():
    assert load_dataset("wine") is load_dataset(DataConfig(name="wine"))


def test_unknown_dataset_names_the_valid_ones():
    with pytest.raises(KeyError, match="digits"):
        dataset_info("imagenet")
    with pytest.raises(KeyError, match="digits"):
        load_dataset("imagenet")


@pytest.mark.parametrize("name,loader", [("breast_cancer", skd.load_breast_cancer), ("wine", skd.load_wine)])
def test_tabular_is_standardised_with_training_statistics(name, loader):
    cfg = DataConfig(name=name)
    b = load_dataset(cfg)
    assert b.info.kind == "tabular"
    assert b.x_train.mean(0).abs().max() < 1e-4
    assert (b.x_train.std(0, unbiased=False) - 1).abs().max() < 1e-3
    # The held-out splits use the *training* mean/std (no leak): redo it by hand and compare.
    d = loader()
    train, val, test = split_arrays(d.data.astype(np.float32), d.target, cfg)
    scaler = StandardScaler().fit(train[0])
    np.testing.assert_allclose(b.x_test.numpy(), scaler.transform(test[0]), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(b.x_val.numpy(), scaler.transform(val[0]), rtol=1e-4, atol=1e-4)
    full = StandardScaler().fit(d.data)  # statistics over all rows would give different numbers
    assert not np.allclose(b.x_test.numpy(), full.transform(test[0]), atol=1e-4)
    assert b.extras["feature_names"] == [str(f) for f in d.feature_names]


def test_split_arrays_carries_extra_arrays_along():
    x = np.arange(200, dtype=np.float32)[:, None]
    y = np.arange(200) % 4
    tag = np.arange(200) * 10
    parts = split_arrays(x, y, DataConfig(), tag)
    seen = []
    for px, py, ptag in parts:
        assert np.array_equal(ptag, px[:, 0].astype(int) * 10)
        assert np.array_equal(py, px[:, 0].astype(int) % 4)
        seen += px[:, 0].tolist()
    assert sorted(seen) == list(range(200))  # a partition: nothing lost, nothing twice


def test_shapes_masks_cover_the_object():
    b = load_dataset(DataConfig(name="shapes", n_samples=400))
    masks = b.extras["masks_test"]
    assert masks.shape == (len(b.y_test), *b.input_shape[1:])  # one mask per test image
    assert b.extras["masks_val"].shape[0] == len(b.y_val)
    x = b.x_test.numpy()
    for img, mask in zip(x, masks, strict=True):
        assert 0 < mask.sum() < mask.size
        lum = img.mean(0)
        # object and background sit in opposite luminance bands: they must differ clearly
        assert abs(lum[mask].mean() - lum[~mask].mean()) > 0.2


def test_shapes_masks_are_split_with_their_images():
    cfg = DataConfig(name="shapes", n_samples=200)
    b = load_dataset(cfg)
    x, y, masks = make_shapes(200, 32, seed=cfg.seed)
    # find each test image among the generated ones and check its mask came along with it
    flat = x.reshape(len(x), -1)
    for img, mask in zip(b.x_test.numpy()[:10], b.extras["masks_test"][:10], strict=True):
        i = int(np.argmin(np.abs(flat - img.reshape(1, -1)).sum(1)))
        assert np.array_equal(masks[i], mask)


def test_shapes_size_and_noise_options():
    b = load_dataset(DataConfig(name="shapes", n_samples=100, image_size=64, noise=0.0))
    assert dataset_info("shapes", DataConfig(name="shapes", image_size=64)).input_shape == (3, 64, 64)
    assert tuple(b.x_train.shape[1:]) == (3, 64, 64)
    assert sum(b.sizes().values()) == 100
    # no noise: every image has just two colours (object, background)
    img = b.x_train[0].reshape(3, -1).T
    assert len(torch.unique(img, dim=0)) == 2


@pytest.mark.parametrize("name", ["xor", "moons", "spirals"])
def test_toys_follow_size_and_noise(name):
    small = load_dataset(DataConfig(name=name, n_samples=100, noise=0.0))
    assert sum(small.sizes().values()) == 100
    noisy = load_dataset(DataConfig(name=name, n_samples=100, noise=0.5))
    assert not torch.equal(small.x_train, noisy.x_train)


# -- the online sets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ONLINE)
def test_online_set_offline_fails_with_a_clear_message(name, data_home):
    info = dataset_info(name)
    assert info.online and info.kind == "image"
    t0 = time.perf_counter()
    with pytest.raises(LabError) as err:
        load_dataset(name)
    assert time.perf_counter() - t0 < 10
    assert err.value.key == "data.offline"
    message = err.value.message()
    assert str(data_home) in message and name in message
    assert "LABCORE_DATA" in message


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_online_set_loads_from_files_in_the_data_folder(name, folder, fake_mnist):
    written = fake_mnist(folder, n_train=200, n_test=50)
    b = load_dataset(DataConfig(name=name))  # the network is blocked: this must come from disk
    assert b.info == dataset_info(name)
    for x, y in _splits(b):
        assert x.dtype == torch.uint8 and tuple(x.shape[1:]) == (1, 28, 28)
        assert y.dtype == torch.long
    # the official test set is the test split, untouched and in order
    images, labels = written["t10k"]
    assert torch.equal(b.x_test, torch.from_numpy(images)[:, None])
    assert torch.equal(b.y_test, torch.from_numpy(labels).long())
    # validation is carved out of the official training set
    assert b.sizes() == {"train": 170, "val": 30, "test": 50}
    train_images = torch.from_numpy(written["train"][0])[:, None]
    together = torch.cat([b.x_train, b.x_val]).reshape(200, -1)
    assert torch.equal(together.sort(0).values, train_images.reshape(200, -1).sort(0).values)
    assert len(b.y_val.unique()) == 10
    # statistics are for [0, 1] pixels even though the tensors stay bytes
    assert all(0.4 < m < 0.6 for m in b.mean) and all(0.2 < s < 0.4 for s in b.std)


def test_online_subset_is_seeded(fake_mnist):
    fake_mnist("MNIST", n_train=200, n_test=20)
    a = load_dataset(DataConfig(name="mnist", n_samples=100, seed=1))
    _load_cached.cache_clear()
    b = load_dataset(DataConfig(name="mnist", n_samples=100, seed=1))
    c = load_dataset(DataConfig(name="mnist", n_samples=100, seed=2))
    assert a.sizes() == {"train": 85, "val": 15, "test": 20}
    assert torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.x_train, c.x_train)


def test_the_cache_check_touches_neither_network_nor_files_and_download_is_a_task(fake_mnist):
    from labcore.data.online import download, is_cached

    assert not is_cached("mnist") and not is_cached("cifar10")
    with pytest.raises(LabError) as err:  # offline: the download job fails with the lab's own sentence
        download("cifar10")
    assert err.value.key == "data.offline"
    fake_mnist("MNIST", n_train=100, n_test=20)
    assert is_cached("mnist") and not is_cached("fashion_mnist")
    progress = []
    assert download("mnist", progress=progress.append) is True and progress == [0.5]
