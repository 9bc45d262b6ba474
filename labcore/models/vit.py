"""A tiny Vision Transformer: the image cut into patches, each patch a token, a [CLS] token that classifies.

Same encoder blocks as the sequence Transformer (`labcore.models.sequence.EncoderBlock`), so the
attention maps and the attention rollout work on both.
"""

from __future__ import annotations

import torch
from torch import nn

from labcore.models.sequence import ClsPool, EncoderBlock, _heads_for


class PatchEmbedding(nn.Module):
    """(N, C, H, W) -> (N, 1 + P, D): one strided convolution = a linear map of every patch."""

    def __init__(self, channels: int, size: int, patch: int, dim: int):
        super().__init__()
        self.patch, self.grid = patch, size // patch
        self.proj = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, self.grid**2 + 1, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.proj(x).flatten(2).transpose(1, 2)  # (N, P, D), patches row by row
        return torch.cat([self.cls.expand(h.shape[0], -1, -1), h], dim=1) + self.pos


def patch_size_for(size: int, patch: int = 0) -> int:
    """The patch side: `patch` if it divides the image, else a quarter of the side (a 4x4 grid)."""
    if patch > 0 and size % patch == 0:
        return patch
    return max(1, size // 4)


def vit(*, input_shape: tuple[int, ...], num_classes: int, depth: int = 2, width: int = 32, act: str = "gelu",
        heads: int = 2, patch_size: int = 0, dropout: float = 0.0) -> nn.Sequential:
    channels, size = input_shape[0], input_shape[-1]
    patch = patch_size_for(size, patch_size)
    heads = _heads_for(width, heads)
    blocks = [EncoderBlock(width, heads, act, dropout) for _ in range(depth)]
    return nn.Sequential(PatchEmbedding(channels, size, patch, width), *blocks, ClsPool(width),
                         nn.Linear(width, num_classes))
