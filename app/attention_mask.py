"""The Attention page's "causal mask" section (lesson 11): which positions each token may see in a decoder,
and one head of the trained model on the shown sentence without and with the mask (scores above the diagonal
set to −∞ before the softmax), computed from the model's own queries and keys."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch
from torch import nn

from app.state import lang, tr
from labcore.explain.attention_steps import attention_steps
from labcore.explain.positions import causal_mask
from labcore.viz.positions import causal_figure


def show(model: nn.Module, x: torch.Tensor, tokens: list[str], keep: list[int]) -> None:
    """`x`: the (1, C, T) sentence; `tokens`: its 1 + T tokens ([CLS] first); `keep`: the rows drawn (no padding)."""
    st.subheader(tr("attention.mask_title"))
    st.caption(tr("attention.mask_intro"))
    blocks = [m for m in model.modules() if hasattr(m, "keep_attention")]
    c = st.columns(4)
    layer = c[0].selectbox(tr("attention.steps_layer"), range(1, len(blocks) + 1), key="att.mask.layer")
    head = c[1].selectbox(tr("attention.steps_head"), range(1, blocks[0].attn.num_heads + 1), key="att.mask.head")
    plain = attention_steps(model, x, layer - 1, head - 1)
    masked = attention_steps(model, x, layer - 1, head - 1, causal=True)
    rows = np.asarray(keep)
    without = plain.weights[np.ix_(rows, rows)]
    without = without / without.sum(-1, keepdims=True)  # as in the maps above: padding keys left out
    with_mask = masked.weights[np.ix_(rows, rows)]  # padding comes last, so the mask already hides it here
    shown = [tokens[k] for k in keep]
    st.plotly_chart(causal_figure(causal_mask(len(shown)), without, with_mask, shown, lang=lang()), key="att.mask.fig")
    st.caption(tr("attention.mask_caption", last=shown[-1], change=float(np.abs(without - with_mask).sum(-1).max() / 2)))
