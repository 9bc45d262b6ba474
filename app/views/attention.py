"""Attention page: train a small Transformer on toy sentences and look at who attends to whom, layer by
layer and head by head (the book's Figure 11.1); train a tiny Vision Transformer and overlay its
attention rollout on the images."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import streamlit as st
import torch

from app import attention_mask, attention_positions, attention_steps, export_panel, links
from app.compare import job_buttons, job_error, live_panel, progress_line
from app.state import data_preview, lang, tr
from labcore.config import DataConfig
from labcore.data.sequences import MASK, PAD, tokens_of
from labcore.explain.attention import attention_maps, attention_rollout, rollout_heatmaps
from labcore.links import ATTENTION_PANELS, HEADS, IMAGE_SETS, TEXT_SETS, VIT_WIDTHS
from labcore.models import default_config
from labcore.train.compare import AttentionJob, CompareConfig, CompareJob, compare_config, vit_config
from labcore.viz.attention import attention_heads_figure, query_layers_figure, rollout_overlay_figure
from labcore.viz.sequences import compare_curves_figure

TEXT_KEY, VIT_KEY = "att.text_job", "att.vit_job"
CLS = "[CLS]"


def _panel(cfg: CompareConfig, job_key: str, label: str, chart_key: str,
           results: Callable[[CompareJob], None]) -> None:
    """Train / Pause / Stop, live validation accuracy, then `results` once the job has ended."""

    def curves(j: CompareJob | None) -> None:
        if j is None:
            st.plotly_chart(compare_curves_figure([], lang=lang()), key=chart_key)
            return
        progress_line(j)
        runs = [(tr(f"models.{c.name}"), c.snapshot()[1]) for c in j.contenders]
        st.plotly_chart(compare_curves_figure(runs, metric="val_acc", lang=lang()), key=chart_key)

    job = job_buttons(cfg, job_key, label, AttentionJob)  # recorded in the run history as this page's
    live_panel(job_key, curves)
    if job is not None and job.done:
        job_error(job)
        results(job)
        export_panel.attention(job, job_key + ".export")


# -- sentences -------------------------------------------------------------------------------------------------
def _text_tab() -> None:
    st.caption(tr("attention.text_intro"))
    left, mid, right = st.columns(3)
    name = left.selectbox(tr("ui.dataset"), TEXT_SETS, key="att.text_data", format_func=lambda n: tr(f"datasets.{n}"))
    layers = mid.slider(tr("attention.layers"), 1, 3, key="att.layers")
    heads = right.select_slider(tr("attention.heads"), HEADS, key="att.heads")
    epochs = left.slider(tr("ui.epochs"), 1, 40, key="att.text_epochs")
    model = replace(default_config("transformer"), depth=layers, heads=heads)
    cfg = compare_config(DataConfig(name=name), [model], epochs=epochs, lr=3e-3)
    sample = data_preview(cfg.data)
    st.markdown(tr("attention.example", tokens=" ".join(tokens_of(sample, "train", 0)),
                   label=sample.class_names[int(sample.y_train[0])]))
    _panel(cfg, TEXT_KEY, tr("attention.train_text"), "att.text_curves", _text_results)


def _text_results(job: CompareJob) -> None:
    c = job.contenders[0]
    if c.trainer is None:
        return
    data = job.data
    st.subheader(tr("attention.maps_title"))
    i = st.number_input(tr("attention.example_index"), 0, len(data.y_test) - 1, value=0, key="att.text_example")
    x, words = data.x_test[i : i + 1], [data.extras["vocab"][int(k)] for k in data.extras["ids_test"][i]]
    true: str | None = data.class_names[int(data.y_test[i])]
    typed = attention_steps.typed_sentence(data)  # the student's own sentence replaces the test one
    if typed is not None:
        x, words, true = typed[0], typed[1] + [PAD] * (data.input_shape[1] - len(typed[1])), None
    keep = [0] + [t + 1 for t, w in enumerate(words) if w != PAD]  # [CLS] and the real tokens
    maps, out = attention_maps(c.trainer.model, x)
    maps = maps[0][:, :, keep][:, :, :, keep]
    maps = maps / maps.sum(-1, keepdims=True)  # renormalise over the shown keys (padding got a little weight)
    tokens = [CLS] + [w for w in words if w != PAD]
    probs = torch.softmax(torch.from_numpy(out[0]), 0).numpy()
    pred = int(np.argmax(probs))
    said = {"sentence": " ".join(tokens[1:]), "pred": data.class_names[pred], "conf": probs[pred]}
    st.markdown(tr("attention.prediction", true=true, **said) if true else tr("attention.prediction_typed", **said))
    st.plotly_chart(attention_heads_figure(maps, tokens, lang=lang()), key="att.heads_fig")
    st.caption(tr("attention.maps_help"))
    default_query = tokens.index(MASK) if MASK in tokens else 0
    q = st.selectbox(tr("attention.query"), list(range(len(tokens))), index=default_query,
                     key=f"att.query.{i if typed is None else '|'.join(tokens)}",
                     format_func=lambda k: f"{k}: {tokens[k]}")
    # each layer's view (heads averaged), then attention followed through all layers (rollout): the decision is
    # read after the last layer, but what it gathered may have been picked up earlier
    series = {tr("attention.viz.layer_n", layer=k + 1): maps[k, :, q].mean(0) for k in range(len(maps))}
    series[tr("attention.viz.rollout")] = attention_rollout(maps)[q]
    st.plotly_chart(query_layers_figure(series, tokens, tokens[q], lang=lang()), key="att.query_fig")
    st.caption(tr("attention.rollout_text_help"))
    st.caption(tr("attention.caveat"))
    st.divider()
    attention_steps.show(c.trainer.model, data, x, words)
    st.divider()
    attention_mask.show(c.trainer.model, x, [CLS] + words, keep)


# -- vision transformer ------------------------------------------------------------------------------------------
def _vit_tab() -> None:
    st.caption(tr("attention.vit_intro"))
    left, mid, right = st.columns(3)
    name = left.selectbox(tr("ui.dataset"), IMAGE_SETS, key="att.vit_data", format_func=lambda n: tr(f"datasets.{n}"))
    epochs = mid.slider(tr("ui.epochs"), 1, 40, key="att.vit_epochs")
    width = right.select_slider(tr("attention.width"), VIT_WIDTHS, key="att.vit_width")
    cfg = vit_config(name, epochs=epochs, width=width)
    _panel(cfg, VIT_KEY, tr("attention.train_vit"), "att.vit_curves", _vit_results)


def _vit_results(job: CompareJob) -> None:
    c = job.contenders[0]
    if c.trainer is None:
        return
    data = job.data
    st.subheader(tr("attention.rollout_title"))
    st.markdown(tr("attention.vit_accuracy", acc=c.test_acc))
    images = data.x_test[:12].float()
    heat, out = rollout_heatmaps(c.trainer.model, images)
    pred = out.argmax(1)
    titles = [tr("attention.vit_title", pred=data.class_names[p], true=data.class_names[int(y)])
              for p, y in zip(pred, data.y_test[:12], strict=True)]
    st.plotly_chart(rollout_overlay_figure(images.numpy(), heat, titles, lang=lang()), key="att.rollout")
    st.caption(tr("attention.rollout_help"))


# A link (or the setup this page had when the user left it) goes into the widgets (app/links.py); the
# widgets take their starting values from there, not from `value=`.
LINK_KEYS = {"text.data": "text_data", "text.layers": "layers", "text.heads": "heads", "text.epochs": "text_epochs",
             "vit.data": "vit_data", "vit.epochs": "vit_epochs", "vit.width": "vit_width", "pe.dim": "pe_dim",
             "pe.length": "pe_length", "pe.epochs": "pe_epochs", "panel": "panel"}
links.setup(links.keys_with_prefix("attention", "att.", LINK_KEYS))
st.session_state.setdefault("att.panel", ATTENTION_PANELS[0])  # the open tab, as links.setup_tabs keeps it
st.session_state["att.tab"] = tr(f"attention.tab_{st.session_state['att.panel']}")
st.title(tr("attention.title"))
st.caption(tr("attention.intro"))
text_tab, vit_tab, positions_tab = links.tabs("attention", "att.", ATTENTION_PANELS)
with text_tab:
    _text_tab()
with vit_tab:
    _vit_tab()
with positions_tab:
    attention_positions.show(TEXT_KEY)
