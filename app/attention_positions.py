"""The Attention page's "Positions" tab (lesson 11): the sinusoidal position encoding and the one the trained
model learned, as heat maps with their similarity between positions, and the experiment that shows why a
Transformer needs them: the same model with learned, sinusoidal or no positions on the agreement task."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from app.compare import job_buttons, job_error, live_panel, progress_line
from app.state import current_job, data_preview, lang, tr
from labcore.config import DataConfig
from labcore.explain.positions import mixed_number_share, model_positions, position_similarity, sinusoidal_positions
from labcore.links import PE_DIMS, PE_EPOCHS, PE_LENGTH
from labcore.models import default_config
from labcore.models.sequence import POSITIONS
from labcore.train.compare import CompareConfig, CompareJob, compare_config
from labcore.viz.positions import positions_figure
from labcore.viz.sequences import compare_curves_figure

PE_KEY = "att.pe_job"


def experiment_config(epochs: int, seed: int = 0) -> CompareConfig:
    """The page's Transformer on the agreement sentences, once per kind of positions, same data and seed.
    Measured at 12 epochs, seeds 0-2 (data and weights): learned and sinusoidal 100 % test accuracy each time,
    none 73.9 / 76.7 / 78.9 % against order-blind ceilings of about 78 / 76 / 79 % (~2 s per seed on 1 thread)."""
    base = default_config("transformer")
    return compare_config(DataConfig(name="agreement", seed=seed), [replace(base, positions=p) for p in POSITIONS],
                          epochs=epochs, lr=3e-3, seed=seed)


def _label(job: CompareJob, i: int) -> str:
    return tr(f"attention.pos_kind.{job.contenders[i].model.positions}")


def show(text_job_key: str) -> None:
    st.caption(tr("attention.pos_intro"))
    left, right = st.columns(2)
    dim = left.select_slider(tr("attention.pos_dim"), PE_DIMS, key="att.pe_dim")
    length = right.slider(tr("attention.pos_length"), *PE_LENGTH, key="att.pe_length")
    pe = sinusoidal_positions(length, dim).numpy()
    st.markdown(f"**{tr('attention.pos_sin_title')}**")
    st.plotly_chart(positions_figure(pe, position_similarity(pe), lang=lang()), key="att.pe_sin")
    st.caption(tr("attention.pos_sin_caption"))

    st.markdown(f"**{tr('attention.pos_model_title')}**")
    job = current_job(text_job_key)
    trainer = job.contenders[0].trainer if job is not None and job.done and job.contenders else None
    if trainer is None:
        st.info(tr("attention.pos_train_first"))
    else:
        kind, learned = model_positions(trainer.model)
        st.plotly_chart(positions_figure(learned, position_similarity(learned), lang=lang()), key="att.pe_model")
        st.caption(tr("attention.pos_model_caption", kind=tr(f"attention.pos_kind.{kind}"), n=len(learned) - 1))

    st.markdown(f"**{tr('attention.pos_experiment_title')}**")
    epochs = st.slider(tr("ui.epochs"), *PE_EPOCHS, key="att.pe_epochs")
    cfg = experiment_config(epochs)
    data = data_preview(cfg.data)
    share = mixed_number_share(data.extras["ids_test"], data.extras["vocab"])
    st.caption(tr("attention.pos_experiment_intro", share=share, ceiling=1 - share / 2))

    def curves(j: CompareJob | None) -> None:
        if j is None:
            st.plotly_chart(compare_curves_figure([], lang=lang()), key="att.pe_curves")
            return
        progress_line(j)
        runs = [(_label(j, i), c.snapshot()[1]) for i, c in enumerate(j.contenders)]
        st.plotly_chart(compare_curves_figure(runs, metric="val_acc", lang=lang()), key="att.pe_curves")

    job = job_buttons(cfg, PE_KEY, tr("attention.pos_train"))
    live_panel(PE_KEY, curves)
    if job is not None and job.done:
        job_error(job)
        _show_results(job, share)


def _show_results(job: CompareJob, share: float) -> None:
    done = [(i, c) for i, c in enumerate(job.contenders) if c.trainer is not None and np.isfinite(c.test_acc)]
    if not done:
        return
    st.table({tr("attention.pos_model"): [_label(job, i) for i, _ in done],
              tr("attention.pos_accuracy"): [f"{c.test_acc:.1%}" for _, c in done]})
    accs = {c.model.positions: c.test_acc for _, c in done}
    if "none" in accs and "learned" in accs:
        st.markdown(tr("attention.pos_verdict", none=accs["none"], learned=accs["learned"], ceiling=1 - share / 2))
