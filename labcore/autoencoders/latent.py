"""Looking into the latent space: codes of a fixed set of images, decoding any point, walking between two
images, and decoding a grid of points (from a VAE's prior, or across an autoencoder's codes).

A `LatentView` is a frozen picture of the model at one moment (its own CPU copy), so the page can decode
clicks while the training thread keeps changing the real model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
from sklearn.decomposition import PCA

from labcore.autoencoders.models import Autoencoder
from labcore.autoencoders.pca import as_float_images

BATCH = 1024


@torch.no_grad()
def encode(model: Autoencoder, x: torch.Tensor) -> np.ndarray:
    """Latent codes (N, k) in evaluation mode (a VAE gives its posterior means)."""
    was_training, device = model.training, next(model.parameters()).device
    model.eval()
    out = [model.encode(as_float_images(x[i : i + BATCH]).to(device)).cpu() for i in range(0, len(x), BATCH)]
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, model.latent_dim), np.float32)


@torch.no_grad()
def decode(model: Autoencoder, z: np.ndarray | torch.Tensor) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] for latent points (N, k)."""
    was_training, device = model.training, next(model.parameters()).device
    model.eval()
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, model.latent_dim).to(device)
    images = model.decode(z).cpu().numpy()
    model.train(was_training)
    return images


@torch.no_grad()
def reconstruct(model: Autoencoder, x: torch.Tensor) -> np.ndarray:
    """x -> encode -> decode, evaluation mode: (N, C, H, W) in [0, 1]."""
    return decode(model, encode(model, x))


@dataclass(frozen=True)
class Projection:
    """k-D codes drawn in 2-D: the plane of their two principal directions, and the way back from it."""

    mean: np.ndarray  # (k,)
    axes: np.ndarray  # (2, k), orthonormal rows

    def to_plane(self, z: np.ndarray) -> np.ndarray:
        return (np.asarray(z) - self.mean) @ self.axes.T

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        return self.mean + np.asarray(xy, dtype=np.float64) @ self.axes


def plane_of(codes: np.ndarray) -> Projection | None:
    """None for 2-D codes (drawn as they are); else the PCA plane of the codes."""
    if codes.shape[1] <= 2:
        return None
    pca = PCA(n_components=2, random_state=0).fit(codes)
    return Projection(pca.mean_.astype(np.float64), pca.components_.astype(np.float64))


@dataclass(frozen=True)
class LatentView:
    epoch: float
    points: np.ndarray  # (N, 2): what the scatter draws
    codes: np.ndarray  # (N, k): the codes themselves
    labels: np.ndarray  # (N,)
    projection: Projection | None
    model: Autoencoder  # a CPU copy in evaluation mode; never the training model

    @property
    def latent_dim(self) -> int:
        return self.codes.shape[1]

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        """A point of the scatter -> a latent vector the decoder takes."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return xy if self.projection is None else self.projection.to_latent(xy)

    def decode_xy(self, xy: np.ndarray) -> np.ndarray:
        return decode(self.model, self.to_latent(xy))

    def bounds(self, margin: float = 0.1) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1) around the points, with a margin; a unit box when there are none."""
        if len(self.points) == 0:
            return -1.0, 1.0, -1.0, 1.0
        lo, hi = np.percentile(self.points, 0.5, axis=0), np.percentile(self.points, 99.5, axis=0)
        pad = np.maximum((hi - lo) * margin, 1e-3)
        return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


def latent_view(model: Autoencoder, x: torch.Tensor, y: torch.Tensor | np.ndarray, epoch: float) -> LatentView:
    """Encode `x` with a private copy of `model` and freeze the picture."""
    frozen = copy.deepcopy(model).cpu().eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    codes = encode(frozen, x)
    projection = plane_of(codes)
    points = codes if projection is None else projection.to_plane(codes)
    return LatentView(float(epoch), points.astype(np.float32), codes, np.asarray(y), projection, frozen)


def interpolate(model: Autoencoder, a: torch.Tensor, b: torch.Tensor, steps: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Walk from image a to image b: (decoded straight-line latent path, pixel-by-pixel blend), each (steps, C, H, W).

    The blend is the naive way (a ghostly double exposure); the latent path passes through images the
    decoder believes in.
    """
    za, zb = encode(model, torch.stack([a, b]))
    w = np.linspace(0, 1, steps)[:, None]
    latent = decode(model, (1 - w) * za + w * zb)
    pa, pb = as_float_images(a).cpu().numpy(), as_float_images(b).cpu().numpy()
    blend = (1 - w[:, :, None, None]) * pa[None] + w[:, :, None, None] * pb[None]
    return latent, blend.astype(np.float32)


def sample_grid(model: Autoencoder, n: int = 8, *, codes: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """n*n decoded images, row by row.

    A VAE decodes its prior N(0, I): with k = 2 on the prior's quantiles (a map of what it generates),
    otherwise random draws. A plain autoencoder has no prior, so the grid spans its codes instead (k = 2),
    or draws from a Gaussian fitted to them: the holes between its clusters decode to smudges.
    """
    k, rng = model.latent_dim, np.random.default_rng(seed)
    if model.variational:
        if k == 2:
            q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)])  # the prior's quantiles
            return decode(model, np.stack(np.meshgrid(q, q[::-1]), -1).reshape(-1, 2))
        return decode(model, rng.standard_normal((n * n, k)))
    if codes is None or len(codes) == 0:
        raise ValueError("a plain autoencoder needs codes to span")
    if k == 2:
        lo, hi = np.percentile(codes, 2, axis=0), np.percentile(codes, 98, axis=0)
        xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
        return decode(model, np.stack(np.meshgrid(xs, ys[::-1]), -1).reshape(-1, 2))
    return decode(model, codes.mean(0) + codes.std(0) * rng.standard_normal((n * n, k)))
