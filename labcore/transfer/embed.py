"""The feature view: what the backbone makes of the target images, squeezed to 2-D with PCA or t-SNE."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from labcore.transfer.backbones import TransferNet

METHODS = ("pca", "tsne")
MAX_POINTS = 400  # t-SNE on a few hundred points takes about a second


def sample(n: int, max_points: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """Sorted, seeded indices of at most `max_points` of `n` items (the same ones before and after)."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


@torch.no_grad()
def embeddings(net: TransferNet, x: torch.Tensor, batch: int = 256) -> np.ndarray:
    """Backbone feature vectors (N, D) of images (N, C, H, W) in [0, 1] or uint8."""
    net.eval()
    device = next(net.parameters()).device
    out = []
    for i in range(0, len(x), batch):
        xb = x[i : i + batch]
        xb = xb.float() / 255 if xb.dtype == torch.uint8 else xb.float()
        out.append(net.features(xb.to(device)).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def project(features: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(N, 2) coordinates. Features are standardised first so no single channel dominates."""
    if method not in METHODS:
        raise KeyError(f"unknown projection {method!r}; choose one of {METHODS}")
    f = features - features.mean(0)
    f = f / (f.std(0) + 1e-6)
    if len(f) < 3:
        return np.zeros((len(f), 2), np.float32)
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(f).astype(np.float32)
    perplexity = float(min(30, (len(f) - 1) / 3))
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(f).astype(np.float32)
