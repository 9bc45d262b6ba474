"""Fixtures shared by every test folder: no network, a private data folder, a tiny MNIST on disk."""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

import numpy as np
import pytest

from labcore.data.bundle import _load_cached

# No test records its runs into the real run history (labcore.tracking); the tracking tests use stores of their own.
os.environ["LAB_TRACKING"] = "0"


@pytest.fixture(scope="module")
def ray_local():
    """LAB_RAY_ADDRESS=local for a module's tests (the [cluster] extra; skipped without ray): the first job to
    connect starts a Ray with 2 CPUs, shut down after the module."""
    ray = pytest.importorskip("ray")
    mp = pytest.MonkeyPatch()
    mp.setenv("LAB_RAY_ADDRESS", "local")
    mp.setenv("LAB_RAY_CPUS", "2")
    try:
        yield ray
    finally:
        ray.shutdown()
        mp.undo()


@pytest.fixture
def one_thread():
    """Torch on one thread for the test: the machine is shared, and tiny models run faster on one core than on two
    that other tests also use (the lab's background jobs run on one thread too)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def no_network(monkeypatch):
    """Any DNS lookup or connection fails at once, so nothing can download (or wait on) anything."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def data_home(tmp_path, monkeypatch, no_network):
    """An empty LABCORE_DATA with the dataset cache cleared before and after, and no network."""
    root = tmp_path / "labdata"
    root.mkdir()
    monkeypatch.setenv("LABCORE_DATA", str(root))
    _load_cached.cache_clear()
    yield root
    _load_cached.cache_clear()


def _idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in the IDX format of the MNIST files (big-endian dims after a magic number)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.fixture
def fake_mnist(data_home):
    """`fake_mnist("MNIST", n_train, n_test)` writes random 28x28 images covering all ten labels into
    <LABCORE_DATA>/<folder>/raw, uncompressed, as torchvision reads them; returns the arrays written."""

    def write(folder: str = "MNIST", n_train: int = 200, n_test: int = 50, seed: int = 0) -> dict:
        rng = np.random.default_rng(seed)
        raw = data_home / folder / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for prefix, n in (("train", n_train), ("t10k", n_test)):
            images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
            labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
            _idx(raw / f"{prefix}-images-idx3-ubyte", images)
            _idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
            arrays[prefix] = (images, labels)
        return arrays

    return write
