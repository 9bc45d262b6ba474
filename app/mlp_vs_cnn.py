"""The Convolution page's "MLP vs CNN" tab (lesson 7): the lab's default MLP and CNN train on the same pictures
in the same batch order, with their weight counts next to their curves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.compare import job_buttons, job_error, live_panel, progress_line
from app.state import data_preview, lang, tr
from app.tasks import download_panel
from labcore.i18n import LabError
from labcore.models import build_model, count_parameters
from labcore.train.compare import MLP_VS_CNN_DATA, CompareJob, mlp_vs_cnn_config
from labcore.viz.sequences import compare_curves_figure

JOB_KEY = "conv.mvc_job"


@st.cache_data(show_spinner=False, max_entries=8)
def _weights(data_name: str) -> dict[str, int]:
    cfg = mlp_vs_cnn_config(data_name, epochs=1)
    data = data_preview(cfg.data)
    return {m.name: count_parameters(build_model(m, data, seed=0))[0] for m in cfg.models}


def _label(name: str, weights: dict[str, int]) -> str:
    return tr("convolution.mvc_label", model=tr(f"models.{name}").split(" · ")[0], weights=f"{weights[name]:,}")


def tab() -> None:
    st.caption(tr("convolution.mvc_intro"))
    left, right = st.columns(2)
    name = left.selectbox(tr("ui.dataset"), MLP_VS_CNN_DATA, key="conv.mvc_data",
                          format_func=lambda n: tr(f"datasets.{n}"))
    epochs = right.slider(tr("ui.epochs"), 1, 30, key="conv.mvc_epochs")
    cfg = mlp_vs_cnn_config(name, epochs=epochs)
    try:
        _weights(name)
    except LabError as e:  # CIFAR-10 not downloaded yet: say so, offer the download, and draw nothing else
        st.warning(e.message(lang()))
        if e.key == "data.download_first":
            download_panel(name)
        return

    def curves(job: CompareJob | None) -> None:
        if job is None:
            st.plotly_chart(compare_curves_figure([], lang=lang()), key="conv.mvc_curves")
            return
        progress_line(job)
        weights = _weights(job.config.data.name)
        runs = [(_label(c.name, weights), c.snapshot()[1]) for c in job.contenders]
        st.plotly_chart(compare_curves_figure(runs, metric="val_acc", lang=lang()), key="conv.mvc_curves")

    job = job_buttons(cfg, JOB_KEY, tr("convolution.mvc_train"))
    live_panel(JOB_KEY, curves)
    if job is None or not job.done:
        return
    job_error(job)
    weights = _weights(job.config.data.name)
    rows = [{tr("convolution.mvc_model"): tr(f"models.{c.name}").split(" · ")[0],
             tr("convolution.mvc_weights"): f"{weights[c.name]:,}",
             tr("convolution.mvc_test_acc"): f"{c.test_acc:.1%}" if c.test_acc == c.test_acc else "–"}
            for c in job.contenders]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(tr("convolution.mvc_caption", data=tr(f"datasets.{job.config.data.name}").split(" · ")[0],
                  epochs=job.config.train.epochs))
