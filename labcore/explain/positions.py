"""Positional encoding and the causal mask (the book's lesson 11), as plain tensors a page can draw.

Self-attention by itself is blind to order: permute the tokens and every output is permuted the same way,
so a model that reads only [CLS] sees a bag of words. Position vectors added to the tokens break that
symmetry. `position_similarity` compares the positions' vectors (cosine: the dot product of the unit
vectors); `mixed_number_share` says how often order decides the agreement task's answer; `causal_mask` is
the lower-triangular matrix of what a decoder's token may look at.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from labcore.data.sequences import NOUNS
from labcore.models.sequence import TokenEmbedding, sinusoidal_positions

__all__ = ["causal_mask", "model_positions", "position_similarity",
           "mixed_number_share", "sinusoidal_positions"]


def position_similarity(pe: np.ndarray | torch.Tensor) -> np.ndarray:
    """(T, D) position vectors -> (T, T) cosine similarity; an all-zero vector is similar to nothing (0)."""
    p = torch.as_tensor(pe, dtype=torch.float64)
    norms = p.norm(dim=1, keepdim=True)
    unit = p / norms.clamp_min(1e-12)
    return (unit @ unit.T).numpy()


def model_positions(model: nn.Module) -> tuple[str, np.ndarray]:
    """(kind, (1 + T, D) position vectors) of a lab sequence Transformer; row 0 is the [CLS] position."""
    embed = next((m for m in model.modules() if isinstance(m, TokenEmbedding)), None)
    if embed is None:
        raise ValueError("this model has no token embedding")
    return embed.positions, embed.pos[0].detach().float().cpu().numpy()


def mixed_number_share(ids: np.ndarray, vocab: list[str]) -> float:
    """Share of agreement sentences ((N, T) token ids) with a singular and a plural noun. Swap their two noun
    phrases and the same bag of words is an equally likely sentence with the other answer, so an order-blind
    model can do no better than a coin on them: its accuracy is at best about 1 - share / 2."""
    singular = [vocab.index(a) for a, _ in NOUNS if a in vocab]
    plural = [vocab.index(b) for _, b in NOUNS if b in vocab]
    ids = np.asarray(ids)
    both = np.isin(ids, singular).any(1) & np.isin(ids, plural).any(1)
    return float(both.mean()) if len(ids) else 0.0


def causal_mask(length: int) -> np.ndarray:
    """(T, T) booleans, True where query row i may look at key column j (j <= i): the lower triangle."""
    return np.tril(np.ones((length, length), dtype=bool))
