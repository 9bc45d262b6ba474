"""The Attention page's "one head, step by step" section (lesson 11): after the sentence Transformer trained,
follow one query token through one head, from token + position vectors to the weighted sum of V."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st
import torch
from torch import nn

from app.state import lang, tr
from labcore.data import DataBundle
from labcore.data.sequences import MASK, PAD
from labcore.explain.attention_steps import attention_steps, encode_words
from labcore.viz.attention import embedding_steps_figure, head_steps_figure

TEMPERATURES = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0]
CLS = "[CLS]"


def typed_sentence(data: DataBundle) -> tuple[torch.Tensor, list[str]] | None:
    """The sentence the student typed (the sentence task only), as the model's input and its words; None when
    none (or not readable: the reason is shown in words). The maps, the prediction and the steps then use it."""
    vocab, length = data.extras["vocab"], data.input_shape[1]
    if PAD not in vocab:
        return None
    known = ", ".join(w for w in vocab if w != PAD)
    text = st.text_input(tr("attention.typed"), key="att.steps.typed", max_chars=200,
                         help=tr("attention.typed_help", n=length, words=known))
    st.caption(tr("attention.vocabulary", n=length, words=known))
    words = text.split()
    if not words:
        return None
    if len(words) > length:
        st.warning(tr("attention.too_long", n=len(words), most=length))
        return None
    x, unknown = encode_words(words, vocab, length, PAD)
    if x is None:
        st.warning(tr("attention.unknown_words", words=", ".join(dict.fromkeys(unknown)), known=known))
        return None
    return x, words


def show(model: nn.Module, data: DataBundle, x: torch.Tensor, words: list[str]) -> None:
    """`x`: the (1, C, T) sentence shown above (a test one or the typed one); `words`: its T tokens, padding
    included."""
    st.subheader(tr("attention.steps_title"))
    st.caption(tr("attention.steps_intro"))
    tokens = [CLS] + list(words)
    keep = [k for k, w in enumerate(tokens) if w != PAD]  # padding is computed with, but not drawn
    shown = [tokens[k] for k in keep]
    blocks = [m for m in model.modules() if hasattr(m, "keep_attention")]
    heads = blocks[0].attn.num_heads
    c = st.columns([1, 1, 1.6, 1.4, 1], vertical_alignment="bottom")
    layer = c[0].selectbox(tr("attention.steps_layer"), range(1, len(blocks) + 1), key="att.steps.layer")
    head = c[1].selectbox(tr("attention.steps_head"), range(1, heads + 1), key="att.steps.head")
    default = shown.index(MASK) if MASK in shown else 0
    q = c[2].selectbox(tr("attention.query"), range(len(shown)), index=default, format_func=lambda k: f"{k}: {shown[k]}",
                       key=f"att.steps.query.{'|'.join(shown)}")
    temperature = c[3].select_slider(tr("attention.temperature"), TEMPERATURES, value=1.0, key="att.steps.temperature",
                                     help=tr("attention.temperature_help"), format_func=lambda v: f"{v:g}")
    causal = c[4].toggle(tr("attention.causal"), key="att.steps.causal", help=tr("attention.causal_help"))

    steps = attention_steps(model, x, layer - 1, head - 1, temperature=temperature, causal=causal)
    rows = np.asarray(keep)
    pad_share = float(1.0 - steps.weights[keep[q]][rows].sum())
    view = replace(steps, token=steps.token[rows], position=steps.position[rows], q=steps.q[rows], k=steps.k[rows],
                   v=steps.v[rows], scores=steps.scores[np.ix_(rows, rows)], weights=steps.weights[np.ix_(rows, rows)],
                   out=steps.out[rows])
    st.markdown(f"**{tr('attention.embeddings_title')}**")
    st.plotly_chart(embedding_steps_figure(view.token, view.position, shown, lang=lang()), key="att.steps.embed")
    st.caption(tr("attention.embeddings_caption"))
    st.markdown(f"**{tr('attention.qkv_title')}**")
    st.plotly_chart(head_steps_figure(view, shown, q, lang=lang()), key="att.steps.head_fig")
    st.caption(tr("attention.qkv_caption"))
    if pad_share > 0.0005:
        st.caption(tr("attention.padding_share", share=pad_share))
