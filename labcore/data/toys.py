"""2-D toy problems (TensorFlow Playground style): XOR, circles, moons, spirals and Gaussian blobs."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as skd

from labcore.config import DataConfig
from labcore.data.bundle import DatasetInfo, make_bundle, register, split_arrays

DEFAULT_SIZE, DEFAULT_NOISE = 600, 0.1
BLOB_CLASSES = 4


def _xor(n, noise, rng):
    x = rng.uniform(-1, 1, size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    return x + rng.normal(0, noise, size=x.shape), y


def _spirals(n, noise, rng):
    # Two interleaved arms: r grows with the angle, the second arm is the first turned by pi.
    k = n // 2
    t = np.sqrt(rng.uniform(0, 1, size=k)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise, size=(2 * k, 2))
    return x, np.repeat([0, 1], k)


def _circles(n, noise, rng):
    return skd.make_circles(n, noise=noise, factor=0.5, random_state=rng.integers(1 << 31))


def _moons(n, noise, rng):
    return skd.make_moons(n, noise=noise, random_state=rng.integers(1 << 31))


def _blobs(n, noise, rng):
    # noise scales the cluster spread so the slider means the same thing for every toy.
    return skd.make_blobs(n, centers=BLOB_CLASSES, cluster_std=0.5 + 4 * noise, random_state=rng.integers(1 << 31))


TOYS = {"xor": _xor, "circles": _circles, "moons": _moons, "spirals": _spirals, "blobs": _blobs}


def _info(name: str):
    classes = tuple(f"class {i}" for i in range(BLOB_CLASSES if name == "blobs" else 2))
    return lambda cfg: DatasetInfo(name, "points", (2,), classes)


def _make(name: str):
    def load(cfg: DataConfig):
        rng = np.random.default_rng(cfg.seed)
        n = cfg.n_samples or DEFAULT_SIZE
        noise = DEFAULT_NOISE if cfg.noise < 0 else cfg.noise
        x, y = TOYS[name](n, noise, rng)
        x = x.astype(np.float32)
        if name == "blobs":  # blobs live on a +-10 scale; bring them to the others' +-1.5
            x = (x - x.mean(0)) / (x.std(0) * 1.5)
        return make_bundle(_info(name)(cfg), split_arrays(x, y, cfg))

    load.__doc__ = f"2-D toy: {name} (size and noise adjustable)."
    return load


for _name in TOYS:
    register(_name, _info(_name))(_make(_name))
