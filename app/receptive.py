"""The Convolution page's "receptive field" tab (lesson 8): pick a layer of a CNN and one of its units; the input
pixels it can see are framed (layer arithmetic) and lit by the gradient of the unit (autograd)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app.state import current_job, data_preview, lang, tr
from labcore.basics import receptive as rf
from labcore.basics.conv_figures import receptive_figure
from labcore.config import DataConfig
from labcore.models import build_model, default_config

K = "conv.rf_"
DATA = ("shapes", "digits")
MVC_JOB = "conv.mvc_job"


@st.cache_resource(show_spinner=False, max_entries=8)
def _untrained(data_name: str, depth: int):
    data = data_preview(DataConfig(name=data_name))
    return build_model(replace(default_config("cnn"), depth=depth), data, seed=0)


def _trained(data_name: str, depth: int):
    """The CNN the "MLP vs CNN" tab trained on the same pictures (the default CNN has 2 blocks), if any."""
    job = current_job(MVC_JOB)
    if depth != 2 or job is None or job.status != "finished" or job.config.data.name != data_name:
        return None
    cnn = next((c for c in job.contenders if c.name == "cnn"), None)
    return cnn.trainer.model if cnn is not None and cnn.trainer is not None else None


def tab() -> None:
    st.caption(tr("convolution.rf_intro"))
    c = st.columns(4)
    name = c[0].selectbox(tr("ui.dataset"), DATA, key=K + "data", format_func=lambda n: tr(f"datasets.{n}"))
    depth = c[1].slider(tr("convolution.rf_depth"), 1, rf_max_depth(name), key=K + "depth")
    data = data_preview(DataConfig(name=name))
    trained = _trained(name, depth)
    model = trained if trained is not None else _untrained(name, depth)
    hw = tuple(data.input_shape[-2:])
    stages = rf.stages(model, hw)
    names = [tr(f"convolution.rf_{s.kind}", n=s.index) for s in stages]
    if st.session_state.get(K + "layer", 0) > len(stages):  # fewer blocks now: the deepest layer that is left
        st.session_state[K + "layer"] = len(stages)
    layer = c[2].selectbox(tr("convolution.rf_layer"), range(1, len(stages) + 1), key=K + "layer",
                           format_func=lambda k: names[k - 1])
    index = c[3].slider(tr("convolution.index", n=49), 0, 49, key=K + "index")  # the first 50 test pictures
    stage = stages[layer - 1]
    rows, cols = stage.out
    u1, u2 = st.columns(2)  # a 1x1 layer has one unit: nothing to choose
    row = u1.slider(tr("convolution.rf_row", n=rows - 1), 0, rows - 1, value=rows // 2,
                    key=f"{K}row.{layer}.{depth}") if rows > 1 else 0
    col = u2.slider(tr("convolution.rf_col", n=cols - 1), 0, cols - 1, value=cols // 2,
                    key=f"{K}col.{layer}.{depth}") if cols > 1 else 0
    image = data.x_test[index]
    box = rf.box(stage, row, col, hw)
    grad = rf.gradient_field(model, image, stage, row, col)
    st.plotly_chart(receptive_figure(image.numpy(), grad, box, lang=lang()), key=K + "fig")
    st.markdown(tr("convolution.rf_numbers", layer=names[layer - 1], size=stage.size[0], jump=stage.jump[0],
                   rows=rows, cols=cols))
    st.caption(tr("convolution.rf_trained" if trained is not None else "convolution.rf_untrained"))


def rf_max_depth(data_name: str) -> int:
    """Blocks of conv + 2x2 pooling the pictures can take: 8x8 digits halve to 1x1 after three."""
    return 3 if data_name == "digits" else 4
