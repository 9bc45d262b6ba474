"""The linear baseline: scikit-learn's PCA with as many components as the autoencoder's latent size.

PCA finds the k orthogonal directions of largest variance; projecting onto them and back is the best
*linear* k-number reconstruction. An autoencoder with ReLUs can bend that subspace, so it should beat
PCA at equal k, by less as k grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.decomposition import PCA


def as_float_images(x: torch.Tensor) -> torch.Tensor:
    """Big image sets are kept as uint8; everything here works on float pixels in [0, 1]."""
    return x.float().div(255) if x.dtype == torch.uint8 else x.float()


@dataclass
class PCABaseline:
    pca: PCA
    input_shape: tuple[int, ...]

    @property
    def k(self) -> int:
        return int(self.pca.n_components_)

    def encode(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """(N, k) coordinates on the principal components."""
        return self.pca.transform(_flat(x))

    def reconstruct(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Project onto the k components and back: (N, C, H, W) images, clipped to [0, 1] like the AE's."""
        flat = self.pca.inverse_transform(self.pca.transform(_flat(x)))
        return np.clip(flat, 0, 1).reshape(-1, *self.input_shape).astype(np.float32)

    def errors(self, x: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray | None = None) -> np.ndarray:
        """Per-image mean squared error of the reconstruction against `target` (default: `x` itself)."""
        target = _flat(x if target is None else target)
        recon = self.reconstruct(x).reshape(len(target), -1)
        return ((recon - target) ** 2).mean(axis=1)

    @property
    def explained_variance(self) -> float:
        return float(self.pca.explained_variance_ratio_.sum())


def fit_pca(x_train: torch.Tensor, k: int, seed: int = 0) -> PCABaseline:
    """PCA with k components on the flattened training images (k is capped by the data's own size)."""
    flat = _flat(x_train)
    k = max(1, min(k, *flat.shape))
    return PCABaseline(PCA(n_components=k, random_state=seed).fit(flat), tuple(x_train.shape[1:]))


def _flat(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = as_float_images(x).cpu().numpy()
    return np.asarray(x, dtype=np.float32).reshape(len(x), -1)
