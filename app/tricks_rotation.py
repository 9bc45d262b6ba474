"""The Training tricks page's "rotation" comparison, after its race (issue 12): the two trained CNNs (rotations
of up to ±180° and ±15°) probed with the test sixes or nines turned from 0° to 360° (labcore.tricks.rotation)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.state import lang, tr
from labcore.data import load_dataset
from labcore.train.race import Race
from labcore.tricks import compare as cm
from labcore.tricks import figures
from labcore.tricks import rotation as rot

K = "tk."
ss = st.session_state


def section(c: cm.Comparison, race: Race) -> None:
    st.subheader(tr("tricks.rot.title"))
    digit = st.segmented_control(tr("tricks.rot.digit"), rot.DIGITS, key=K + "cmp.digit", required=True,
                                 format_func=lambda d: tr("tricks.rot.digit_n", digit=d))
    names = cm.labels(c, lang())
    models = [race.contender_model(i) for i in range(len(c.race.contenders))]
    probe = rot.probe(models, load_dataset(c.race.data), digit)
    st.plotly_chart(figures.rotation_figure(probe, names, lang=lang()), key=K + "fig.rot")
    st.caption(tr("tricks.rot.caption", n=probe.count, digit=digit))
    st.markdown(rot.verdict(probe, [a.augment.rotation for a in c.race.contenders], lang()))
    frame = pd.DataFrame({tr("tricks.cmp.col_name"): names,
                          tr("tricks.rot.col_six_nine", n=probe.sixes): probe.six_as_nine,
                          tr("tricks.rot.col_nine_six", n=probe.nines): probe.nine_as_six})
    st.dataframe(frame, hide_index=True, width="stretch")
