"""The Training tricks page's "train it" button: the explorer's net trained for a few epochs on the digits in the
background (an engine task, seconds), its loss per mini-batch drawn, so the first step's numbers meet their
consequence."""

from __future__ import annotations

import streamlit as st

from app.state import lang, tr
from app.tasks import background
from labcore.tricks import figures
from labcore.tricks import init_explorer as ie

K = "tk.train."


def section(init: str, act: str, depth: int, width: int) -> None:
    st.subheader(tr("tricks.train_title"))
    key = ("tricks.train", init, act, depth, width)
    text = tr("tricks.train_intro", epochs=ie.TRAIN_EPOCHS, lr=ie.TRAIN_LR, momentum=ie.TRAIN_MOMENTUM,
              batch=ie.TRAIN_BATCH)
    st.markdown(text)
    if st.button(tr("tricks.train_button"), key=K + "go", icon=":material/play_arrow:"):
        st.session_state[K + "asked"] = key
    if st.session_state.get(K + "asked") != key:  # asked for another setup (or never): nothing runs
        return
    curve = background(key, tr("tricks.training"), ie.train_digits, init, act, depth, width)
    if curve is None:
        return
    st.plotly_chart(figures.train_figure(curve, lang=lang()), key="tk.fig.train")
    if curve.diverged_at is not None:
        st.warning(tr("tricks.train_diverged", step=curve.diverged_at + 1), icon=":material/warning:")
    else:
        per = curve.steps_per_epoch
        st.markdown(tr("tricks.train_result", first=f"{curve.losses[:per].mean():.3f}",
                       last=f"{curve.losses[-per:].mean():.3f}", accuracy=curve.test_accuracy))
    st.caption(tr("tricks.train_caption"))
