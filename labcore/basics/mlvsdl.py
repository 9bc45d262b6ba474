"""Machine learning against deep learning (the book's lesson 1), on the lab's own images.

1. Hand-made features: a few classic, honest image features (ink profiles per row and column, a small HOG —
   histograms of gradient directions in a grid of cells —, left/right and top/bottom symmetry, the number of holes
   and the outline's compactness) fed to logistic regression or a random forest, against the same models on raw
   pixels and against a small CNN that learns its own features.
2. "No free lunch": one fixed random permutation applied to every image's pixels. A model that sees the pixels
   as an unordered list (logistic regression, an MLP) learns just as well; a CNN, which assumes that neighbouring
   pixels belong together, loses a lot.
3. The training loop, one real step at a time: batch → forward → loss → backward → optimizer step.

Everything is numpy, scikit-learn and torch; nothing here imports streamlit.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from labcore.data import load_dataset
from labcore.models.cnn import cnn
from labcore.seeding import init_rng

DATASETS = ("digits", "shapes")
CLASSIC = ("logreg", "forest")
CELLS, BINS, PROFILE = 4, 8, 8  # HOG: a CELLS x CELLS grid, BINS directions (0..180°); profiles: PROFILE bins
GROUPS = ("rows", "cols", "hog", "symmetry", "holes", "compactness")
EPOCHS = {"digits": 10, "shapes": 12}
BATCH = 64
LOGREG_ITERATIONS, FOREST_TREES = 200, 50
SHUFFLE_SEED = 1234  # the one permutation every image gets


# -- hand-made features -------------------------------------------------------------------------------------------
def ink(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) images in [0, 1] -> (N, H, W) "ink": how far each pixel's grey level is from the image's
    background (the mean of its border pixels), so a dark shape on light ground and a light one on dark ground
    look alike. For digits (black ground) it is the grey level itself."""
    grey = np.asarray(x, dtype=np.float64).mean(axis=1)
    border = np.concatenate([grey[:, 0], grey[:, -1], grey[:, 1:-1, 0], grey[:, 1:-1, -1]], axis=1).mean(axis=1)
    return np.abs(grey - border[:, None, None])


def _bins(profile: np.ndarray, n: int) -> np.ndarray:
    """(N, L) -> (N, n): sums over n equal groups of the profile (L a multiple of n)."""
    return profile.reshape(len(profile), n, -1).sum(axis=2)


def profiles(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of the ink in each of PROFILE horizontal bands (rows) and vertical bands (columns)."""
    total = a.sum(axis=(1, 2))[:, None] + 1e-9
    return _bins(a.sum(axis=2), PROFILE) / total, _bins(a.sum(axis=1), PROFILE) / total


def gradients(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient magnitude and direction (0..π, unsigned) of each pixel."""
    gy, gx = np.gradient(a, axis=(1, 2))
    return np.hypot(gx, gy), np.mod(np.arctan2(gy, gx), np.pi)


def hog(a: np.ndarray) -> np.ndarray:
    """A small HOG: for each of CELLS x CELLS cells, the gradient magnitude summed per direction bin;
    (N, CELLS, CELLS, BINS), each image's histograms scaled to unit length."""
    n, h, w = a.shape
    mag, ang = gradients(a)
    b = np.minimum((ang / np.pi * BINS).astype(int), BINS - 1)
    cy = (np.arange(h) * CELLS // h)[:, None]
    cx = (np.arange(w) * CELLS // w)[None, :]
    index = (cy * CELLS + cx) * BINS + b  # (N, H, W) flat cell-and-bin index
    out = np.zeros((n, CELLS * CELLS * BINS))
    for i in range(n):
        out[i] = np.bincount(index[i].ravel(), weights=mag[i].ravel(), minlength=out.shape[1])
    out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-9
    return out.reshape(n, CELLS, CELLS, BINS)


def symmetry(a: np.ndarray) -> np.ndarray:
    """(N, 2): 1 − mean |ink − mirrored ink| / mean ink, left/right and top/bottom (1 = perfectly symmetric)."""
    mean = a.mean(axis=(1, 2)) + 1e-9
    lr = 1 - np.abs(a - a[:, :, ::-1]).mean(axis=(1, 2)) / (2 * mean)
    tb = 1 - np.abs(a - a[:, ::-1, :]).mean(axis=(1, 2)) / (2 * mean)
    return np.stack([lr, tb], axis=1)


def masks(a: np.ndarray) -> np.ndarray:
    """Where the ink is at least half the image's strongest ink."""
    return a >= 0.5 * a.max(axis=(1, 2), keepdims=True)


def holes(m: np.ndarray) -> np.ndarray:
    """(N,): background regions (4-connected) that do not touch the border: the loops of a 0, 6, 8 or 9."""
    out = np.zeros(len(m))
    for i, mask in enumerate(m):
        labels, n = ndimage.label(~mask)
        edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        out[i] = n - np.count_nonzero(edge)
    return out


def compactness(m: np.ndarray) -> np.ndarray:
    """(N,): outline length² / (4π · area), 1 for a disc, more for a square, a triangle, a cross."""
    mag, _ = gradients(m.astype(np.float64))
    perimeter = mag.sum(axis=(1, 2))
    area = m.sum(axis=(1, 2)) + 1e-9
    return perimeter**2 / (4 * np.pi * area)


def hand_features(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) images -> (N, F) hand-made features, in GROUPS order (see `feature_slices`)."""
    a = ink(x)
    m = masks(a)
    rows, cols = profiles(a)
    n = len(a)
    parts = [rows, cols, hog(a).reshape(n, -1), symmetry(a), holes(m)[:, None], compactness(m)[:, None]]
    return np.concatenate(parts, axis=1).astype(np.float32)


def feature_slices() -> dict[str, slice]:
    sizes = {"rows": PROFILE, "cols": PROFILE, "hog": CELLS * CELLS * BINS, "symmetry": 2, "holes": 1, "compactness": 1}
    out, start = {}, 0
    for g in GROUPS:
        out[g] = slice(start, start + sizes[g])
        start += sizes[g]
    return out


# -- models -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    model: str  # logreg, forest, mlp, cnn
    inputs: str  # pixels, features, shuffled
    accuracy: float
    fit_s: float
    n_inputs: int


def _classic(name: str, seed: int):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=LOGREG_ITERATIONS, C=0.1))
    return RandomForestClassifier(n_estimators=FOREST_TREES, random_state=seed, n_jobs=1)


def fit_classic(name: str, inputs: str, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                seed: int = 0) -> Result:
    """Fit logistic regression or a random forest on (N, F) rows; test accuracy and fit time."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    model = _classic(name, seed)
    with threadpool_limits(1), warnings.catch_warnings():  # BLAS threads fighting over two cores: 100x slower
        warnings.simplefilter("ignore", ConvergenceWarning)  # on raw shape pixels it stops at LOGREG_ITERATIONS
        start = time.perf_counter()
        model.fit(*train)
        fit_s = time.perf_counter() - start
    return Result(name, inputs, float((model.predict(test[0]) == test[1]).mean()), fit_s, train[0].shape[1])


def net(kind: str, input_shape: tuple[int, ...], num_classes: int, seed: int) -> nn.Module:
    """The lab's small CNN (2 conv blocks, 16 channels) or an MLP with one hidden layer of 128."""
    with init_rng(seed):
        if kind == "cnn":
            return cnn(input_shape=input_shape, num_classes=num_classes, depth=2, width=16)
        d = int(np.prod(input_shape))
        return nn.Sequential(nn.Flatten(), nn.Linear(d, 128), nn.ReLU(), nn.Linear(128, num_classes))


def fit_net(kind: str, inputs: str, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
            num_classes: int, *, epochs: int, seed: int = 0, progress: Callable[[float], None] | None = None) -> Result:
    """Train a CNN or an MLP with Adam (batch 64) on standardised images; test accuracy and fit time."""
    x, y = train
    mean, std = x.mean(axis=(0, 2, 3), keepdims=True), x.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    xt = torch.tensor((x - mean) / std, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.long)
    model = net(kind, x.shape[1:], num_classes, seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
        if progress is not None:
            progress((epoch + 1) / epochs)
    fit_s = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        pred = model(torch.tensor((test[0] - mean) / std, dtype=torch.float32)).argmax(1).numpy()
    return Result(kind, inputs, float((pred == test[1]).mean()), fit_s, int(np.prod(x.shape[1:])))


# -- the data -----------------------------------------------------------------------------------------------------
def split(name: str, seed: int = 0, n_samples: int = 0) -> tuple[tuple[np.ndarray, np.ndarray],
                                                                   tuple[np.ndarray, np.ndarray], int]:
    """Train (train + validation: nothing here is tuned) and test images as float numpy, and the class count
    (`n_samples`: 0 for the dataset's own size)."""
    from labcore.config import DataConfig

    b = load_dataset(DataConfig(name=name, seed=seed, n_samples=n_samples))

    def f(t: torch.Tensor) -> np.ndarray:
        a = t.numpy().astype(np.float32)
        return a / 255.0 if t.dtype == torch.uint8 else a

    train = (np.concatenate([f(b.x_train), f(b.x_val)]), np.concatenate([b.y_train.numpy(), b.y_val.numpy()]))
    return train, (f(b.x_test), b.y_test.numpy()), b.num_classes


def _stages(progress: Callable[[float], None] | None, weights: list[float]):
    """Progress callbacks for consecutive stages of the given relative weights."""
    total, done = sum(weights), 0.0
    for w in weights:
        lo = done
        yield (lambda f, lo=lo, w=w: progress((lo + f * w) / total)) if progress else None
        done += w


def features_vs_learned(name: str, seed: int = 0, progress: Callable[[float], None] | None = None) -> list[Result]:
    """Logistic regression and a random forest on raw pixels and on hand-made features, and the small CNN."""
    train, test, k = split(name, seed)
    feats = hand_features(train[0]), hand_features(test[0])
    flat = train[0].reshape(len(train[0]), -1), test[0].reshape(len(test[0]), -1)
    out = []
    step = _stages(progress, [1, 1, 1, 1, 4])
    for model in CLASSIC:
        for inputs, (a, b) in (("pixels", flat), ("features", feats)):
            out.append(fit_classic(model, inputs, (a, train[1]), (b, test[1]), seed))
            p = next(step)
            if p:
                p(1.0)
    out.append(fit_net("cnn", "pixels", train, test, k, epochs=EPOCHS[name], seed=seed, progress=next(step)))
    return out


# -- no free lunch: shuffled pixels -------------------------------------------------------------------------------
def permutation(h: int, w: int, seed: int = SHUFFLE_SEED) -> np.ndarray:
    """One fixed random order of the h·w pixel positions (the same for every image and every channel)."""
    return np.random.default_rng(seed).permutation(h * w)


def shuffle_pixels(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Move pixel perm[j] to place j in every image (N, C, H, W)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h * w)[:, :, perm].reshape(n, c, h, w)


def unshuffle_pixels(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    return shuffle_pixels(x, np.argsort(perm))


SHUFFLE_MODELS = ("logreg", "mlp", "cnn")


def shuffle_compare(name: str, seed: int = 0, progress: Callable[[float], None] | None = None) -> list[Result]:
    """Each of SHUFFLE_MODELS trained on the images as they are and on the same images with shuffled pixels."""
    train, test, k = split(name, seed)
    perm = permutation(*train[0].shape[2:])
    mixed = (shuffle_pixels(train[0], perm), train[1]), (shuffle_pixels(test[0], perm), test[1])
    out = []
    step = _stages(progress, [1, 1, 2, 2, 4, 4])
    for model in SHUFFLE_MODELS:
        for inputs, (tr, te) in (("pixels", (train, test)), ("shuffled", mixed)):
            if model == "logreg":
                flat = [(a.reshape(len(a), -1), b) for a, b in (tr, te)]
                out.append(fit_classic(model, inputs, flat[0], flat[1], seed))
                p = next(step)
                if p:
                    p(1.0)
            else:
                out.append(fit_net(model, inputs, tr, te, k, epochs=EPOCHS[name], seed=seed, progress=next(step)))
    return out


# -- the training loop, one step at a time ---------------------------------------------------------------------------
LOOP_STAGES = ("batch", "forward", "loss", "backward", "step")
LOOP_BATCH, LOOP_HIDDEN, LOOP_SHOWN = 32, 16, 8
LOOP_LRS = (0.05, 0.2, 0.5, 2.0)


@dataclass(frozen=True)
class LoopStep:
    """One step of plain SGD on one batch: the numbers each stage of the loop produces."""

    step: int
    labels: np.ndarray  # the batch's labels
    images: np.ndarray  # the batch's first LOOP_SHOWN images (k, 8, 8)
    predicted: np.ndarray  # the model's classes for the batch before the step
    loss_before: float
    grad_norm: float  # ‖∇L‖ over all weights
    update_norm: float  # ‖Δw‖ = lr · ‖∇L‖
    loss_after: float  # the same batch's loss with the updated weights


def loop_model(seed: int = 0) -> nn.Module:
    """A tiny MLP for 8x8 digits: 64 → 16 → 10."""
    with init_rng(seed):
        return nn.Sequential(nn.Flatten(), nn.Linear(64, LOOP_HIDDEN), nn.ReLU(), nn.Linear(LOOP_HIDDEN, 10))


def sgd_step(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, lr: float, step: int = 0) -> LoopStep:
    """Forward, loss, backward and one SGD update (w ← w − lr·∇L) on one batch; the loss again after it."""
    model.zero_grad()
    logits = model(xb)
    loss = nn.functional.cross_entropy(logits, yb)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    grad_norm = float(torch.sqrt(sum((g**2).sum() for g in grads)))
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
        after = float(nn.functional.cross_entropy(model(xb), yb))
    return LoopStep(step, yb.numpy().copy(), xb[:LOOP_SHOWN, 0].numpy().copy(), logits.argmax(1).numpy(), loss.item(),
                    grad_norm, lr * grad_norm, after)


def training_loop(steps: int, lr: float, seed: int = 0) -> list[LoopStep]:
    """`steps` + 1 SGD steps of the tiny MLP on batches of LOOP_BATCH training digits, in a seeded order."""
    train, _, _ = split("digits", 0)
    raw = train[0]
    x = torch.tensor((raw - raw.mean()) / raw.std(), dtype=torch.float32)
    y = torch.tensor(train[1], dtype=torch.long)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    model = loop_model(seed)
    out = []
    for k in range(steps + 1):
        idx = order[(k * LOOP_BATCH) % len(x):][:LOOP_BATCH]
        out.append(replace(sgd_step(model, x[idx], y[idx], lr, k), images=raw[idx[:LOOP_SHOWN].numpy(), 0]))
    return out
