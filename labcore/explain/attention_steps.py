"""One attention head, one query token, step by step (the book's lesson 11), read from the model's own tensors.

For block `layer` of a trained lab Transformer (pre-norm, `labcore.models.sequence.EncoderBlock`) this takes
the block's real input, its LayerNorm and the `nn.MultiheadAttention` projection weights, and recomputes
what that head does: Q = n W_q + b_q (and K, V alike), scores = Q Kᵀ / √d_k, a softmax over the keys
(optionally at a temperature, optionally with a causal mask), and the weighted sum of V. At temperature 1
without the mask the weights equal the ones the model used in its forward pass (a test compares them, and
the output with `F.scaled_dot_product_attention`). The temperature and the mask are "what if" knobs: they
change this view only, not the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from labcore.explain.attention import encoder_blocks
from labcore.explain.locking import exclusive
from labcore.models.sequence import TokenEmbedding


@dataclass
class AttentionSteps:
    """Everything one head computes for a (1, C, T) input, rows are positions (0 is [CLS])."""

    token: np.ndarray  # (T, D) the token part of the first block's input ([CLS] row: the learned [CLS] vector)
    position: np.ndarray  # (T, D) the learned position vectors added to it
    block_input: np.ndarray  # (T, D) what block `layer` receives (layer 0: token + position)
    q: np.ndarray  # (T, d_k) this head's queries, keys and values
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray  # (T, T) Q Kᵀ / √d_k, before the mask
    weights: np.ndarray  # (T, T) softmax(scores / temperature), masked positions 0
    out: np.ndarray  # (T, d_k) weights @ V: what this head hands on (before the output projection)
    d_k: int
    heads: int


def _projections(attn: nn.MultiheadAttention, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    w, b = attn.in_proj_weight, attn.in_proj_bias
    d = attn.embed_dim
    bias = b if b is not None else torch.zeros(3 * d)
    return tuple(h @ w[i * d:(i + 1) * d].T + bias[i * d:(i + 1) * d] for i in range(3))  # type: ignore[return-value]


@exclusive  # it hooks the model's blocks
@torch.no_grad()
def attention_steps(model: nn.Module, x: torch.Tensor, layer: int, head: int, *, temperature: float = 1.0,
                    causal: bool = False) -> AttentionSteps:
    """The step-by-step view of head `head` of block `layer` for one input `x` of shape (1, C, T)."""
    blocks = encoder_blocks(model)
    if not blocks:
        raise ValueError("this model has no attention layers")
    layer = min(max(0, layer), len(blocks) - 1)
    block = blocks[layer]
    heads = block.attn.num_heads
    head = min(max(0, head), heads - 1)
    temperature = max(float(temperature), 1e-3)
    embed = next(m for m in model.modules() if isinstance(m, TokenEmbedding))
    seen: dict[str, torch.Tensor] = {}
    hooks = [block.register_forward_pre_hook(lambda _m, args: seen.__setitem__("block", args[0].detach())),
             embed.register_forward_pre_hook(lambda _m, args: seen.__setitem__("embed", args[0].detach()))]
    was_training = model.training
    model.eval()
    try:
        model(x.to(next(model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    token = torch.cat([embed.cls[0], embed.proj(seen["embed"].transpose(1, 2))[0]], dim=0)
    block_input = seen["block"][0]
    q, k, v = _projections(block.attn, block.norm1(block_input))
    d_k = block.attn.head_dim
    part = slice(head * d_k, (head + 1) * d_k)
    q, k, v = q[:, part], k[:, part], v[:, part]
    scores = q @ k.T / math.sqrt(d_k)
    logits = scores / temperature
    if causal:  # a position may look only at itself and earlier ones: the upper triangle is masked
        logits = logits.masked_fill(torch.ones_like(logits, dtype=torch.bool).triu(1), float("-inf"))
    weights = torch.softmax(logits, dim=-1)
    as_np = lambda t: t.float().cpu().numpy()  # noqa: E731
    return AttentionSteps(token=as_np(token), position=as_np(embed.pos[0, : len(token)]), block_input=as_np(block_input),
                          q=as_np(q), k=as_np(k), v=as_np(v), scores=as_np(scores), weights=as_np(weights),
                          out=as_np(weights @ v), d_k=d_k, heads=heads)


def encode_words(words: list[str], vocab: list[str], length: int, pad: str) -> tuple[torch.Tensor | None, list[str]]:
    """A typed sentence as the (1, V, length) one-hot input the sentence task's model reads, or (None, the
    words it does not know). Padded at the end with `pad`, as the data set pads its sentences."""
    index = {w: i for i, w in enumerate(vocab)}
    unknown = [w for w in words if w not in index or w == pad]
    if unknown or not words or len(words) > length:
        return None, unknown
    ids = np.full(length, index[pad], dtype=np.int64)
    ids[: len(words)] = [index[w] for w in words]
    one_hot = np.eye(len(vocab), dtype=np.float32)[ids].T
    return torch.from_numpy(one_hot.copy())[None], []
