"""Attention maps of the lab's Transformers (sequence and vision) and attention rollout.

`attention_maps` runs one forward pass with every encoder block asked to keep its weights
(`nn.MultiheadAttention(need_weights=True, average_attn_weights=False)`): one (T, T) matrix per layer
and head, each row a softmax over the keys, so every row sums to 1. Position 0 is the [CLS] token.

`attention_rollout` (Abnar & Zuidema, 2020) follows attention through the layers: average the heads,
add the identity for the residual path, renormalise the rows, multiply the layers' matrices. The
[CLS] row of the product says how much each input token (or image patch) flowed into the decision.
Attention shows association, not causation: it is a lens, not an explanation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labcore.models.sequence import EncoderBlock
from labcore.models.vit import PatchEmbedding


def encoder_blocks(model: nn.Module) -> list[EncoderBlock]:
    return [m for m in model.modules() if isinstance(m, EncoderBlock)]


def has_attention(model: nn.Module) -> bool:
    return bool(encoder_blocks(model))


@torch.no_grad()
def attention_maps(model: nn.Module, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(attention (N, layers, heads, T, T), model outputs (N, classes)) for a batch of inputs."""
    blocks = encoder_blocks(model)
    if not blocks:
        raise ValueError("this model has no attention layers")
    was_training = model.training
    model.eval()
    for b in blocks:
        b.keep_attention = True
    try:
        out = model(x.to(next(model.parameters()).device))
        maps = torch.stack([b.attention for b in blocks], dim=1)
    finally:
        for b in blocks:
            b.keep_attention, b.attention = False, None
        model.train(was_training)
    return maps.float().cpu().numpy(), out.float().cpu().numpy()


def attention_rollout(maps: np.ndarray) -> np.ndarray:
    """Rollout of one example's maps (layers, heads, T, T) -> (T, T); rows sum to 1."""
    rolled = np.eye(maps.shape[-1])
    for layer in maps:
        a = layer.mean(0)
        a = 0.5 * a + 0.5 * np.eye(len(a))  # the residual connection carries half of each token through
        a = a / a.sum(-1, keepdims=True)
        rolled = a @ rolled
    return rolled


def patch_grid(model: nn.Module) -> int:
    """Patches per image side of a vision transformer."""
    embed = next(m for m in model.modules() if isinstance(m, PatchEmbedding))
    return embed.grid


def rollout_heatmaps(model: nn.Module, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """For a vision transformer: ([CLS] rollout over the patches, upsampled to (N, H, W) in [0, 1], outputs)."""
    maps, out = attention_maps(model, images)
    grid = patch_grid(model)
    cls = np.stack([attention_rollout(m)[0, 1:] for m in maps]).reshape(-1, 1, grid, grid)
    size = images.shape[-2:]
    heat = F.interpolate(torch.from_numpy(cls).float(), size=size, mode="bilinear", align_corners=False)[:, 0]
    heat = heat - heat.amin(dim=(1, 2), keepdim=True)
    heat = heat / heat.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)
    return heat.numpy(), out
