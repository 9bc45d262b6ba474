"""Autoencoders: an encoder squeezes an image into k numbers z, a decoder rebuilds the image from z.

`AUTOENCODERS` holds dense and convolutional ones, each plain or variational. Every model has the
same surface: `encode(x) -> z` (a VAE gives the posterior mean), `decode(z) -> image` (pixels in
[0, 1] through a sigmoid), and `forward(x) -> AEOutput`. The dense one with width 128 on 28x28 images
is the book's 784-128-64-2 network (218,514 weights).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from labcore.registry import Registry
from labcore.seeding import init_rng

LOGVAR_RANGE = (-10.0, 10.0)  # keeps exp(logvar) finite in the first steps of a wild run


@dataclass
class AEOutput:
    recon: torch.Tensor  # (N, C, H, W) in [0, 1]
    z: torch.Tensor  # (N, k): the code the decoder saw
    mu: torch.Tensor | None = None  # VAE only: posterior mean and log-variance, (N, k) each
    logvar: torch.Tensor | None = None


class Autoencoder(nn.Module):
    """x -> encoder -> z (k numbers) -> decoder -> x̂. Trained to make x̂ close to x (Eqs 10.1-10.3)."""

    variational = False

    def __init__(self, encoder: nn.Module, decoder: nn.Module, input_shape: tuple[int, ...], latent_dim: int):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.input_shape, self.latent_dim = tuple(input_shape), latent_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).reshape(-1, *self.input_shape)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> AEOutput:
        z = self.encode(x)
        return AEOutput(self.decode(z), z)


class VariationalAutoencoder(Autoencoder):
    """The encoder gives a Gaussian N(mu, sigma^2) per image (Eq 10.4); training decodes a sample of it.

    The sample is drawn as z = mu + sigma * eps with eps ~ N(0, I) (the reparameterisation trick), so
    gradients flow through mu and sigma. The encoder's last layer has 2k outputs: mu and log sigma^2.
    """

    variational = True

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> AEOutput:
        mu, logvar = self.posterior(x)
        z = reparameterise(mu, logvar, generator) if self.training else mu  # evaluation decodes the mean
        return AEOutput(self.decode(z), z, mu, logvar)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) per sample, in nats: -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2) >= 0."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def reconstruction_error(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image (Eq 10.3 averaged over pixels), shape (N,)."""
    return (recon - x).pow(2).flatten(1).mean(dim=1)


# -- the networks ------------------------------------------------------------------------------------------
def _dense(input_shape: tuple[int, ...], code: int, latent_dim: int, width: int) -> tuple[nn.Module, nn.Module]:
    """d -> width -> width/2 -> code, and back: latent_dim -> width/2 -> width -> d."""
    d, half = math.prod(input_shape), max(2, width // 2)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(d, width), nn.ReLU(), nn.Linear(width, half), nn.ReLU(),
                            nn.Linear(half, code))
    decoder = nn.Sequential(nn.Linear(latent_dim, half), nn.ReLU(), nn.Linear(half, width), nn.ReLU(),
                            nn.Linear(width, d), nn.Sigmoid())
    return encoder, decoder


def conv_plan(input_shape: tuple[int, ...], width: int) -> tuple[list[int], int]:
    """Channels per stage and the side of the smallest feature map: halve while the side stays even and >= 4
    (8 -> 4, 28 -> 14 -> 7, 32 -> 4), so transposed convolutions double it back exactly."""
    side, downs = input_shape[-1], 0
    while side % 2 == 0 and side // 2 >= 4 and downs < 4:
        side, downs = side // 2, downs + 1
    first = max(8, width // 8)
    return [min(64, first * 2**i) for i in range(downs + 1)], side


def _conv(input_shape: tuple[int, ...], code: int, latent_dim: int, width: int) -> tuple[nn.Module, nn.Module]:
    """A 3x3 convolution, then stride-2 convolutions down to a small map; mirrored with transposed ones."""
    c = input_shape[0]
    chans, side = conv_plan(input_shape, width)
    flat = chans[-1] * side * side
    down: list[nn.Module] = [nn.Conv2d(c, chans[0], 3, padding=1), nn.ReLU()]
    for a, b in zip(chans, chans[1:], strict=False):
        down += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.ReLU()]
    encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(flat, code))
    up: list[nn.Module] = [nn.Linear(latent_dim, flat), nn.ReLU(), nn.Unflatten(1, (chans[-1], side, side))]
    for a, b in zip(chans[::-1], chans[::-1][1:], strict=False):
        up += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1), nn.ReLU()]
    decoder = nn.Sequential(*up, nn.Conv2d(chans[0], c, 3, padding=1), nn.Sigmoid())
    return encoder, decoder


@dataclass(frozen=True)
class AESpec:
    layers: Callable[[tuple[int, ...], int, int, int], tuple[nn.Module, nn.Module]]
    variational: bool

    def build(self, input_shape: tuple[int, ...], latent_dim: int, width: int) -> Autoencoder:
        code = 2 * latent_dim if self.variational else latent_dim
        encoder, decoder = self.layers(tuple(input_shape), code, latent_dim, width)
        kind = VariationalAutoencoder if self.variational else Autoencoder
        return kind(encoder, decoder, input_shape, latent_dim)


AUTOENCODERS = Registry("autoencoder")
AUTOENCODERS.register("dense")(AESpec(_dense, variational=False))
AUTOENCODERS.register("conv")(AESpec(_conv, variational=False))
AUTOENCODERS.register("vae")(AESpec(_dense, variational=True))
AUTOENCODERS.register("conv_vae")(AESpec(_conv, variational=True))


def build_autoencoder(name: str, input_shape: tuple[int, ...], latent_dim: int = 2, width: int = 128,
                      *, seed: int | None = None) -> Autoencoder:
    with init_rng(seed):  # the seed alone decides the weights
        return AUTOENCODERS.get(name).build(input_shape, latent_dim, width)


def is_variational(name: str) -> bool:
    return AUTOENCODERS.get(name).variational
