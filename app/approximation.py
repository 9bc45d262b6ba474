"""The Neurons page's "universal approximation" tab (lesson 2): a 1-D MLP with a chosen number of hidden neurons
trains on a function in the background (about a second), against a deeper net of the same weight budget if asked."""

from __future__ import annotations

import streamlit as st

from app.state import lang, tr
from app.tasks import background
from labcore.basics import approximation as approx
from labcore.basics.figures import approximation_figure, approximation_loss_figure
from labcore.i18n import LabError

K = "nr.approx."


def _fits(name: str, width: int, act: str, deep: bool, points, progress=None) -> list[approx.Fit]:
    if deep:
        return list(approx.compare(name, width, act, points=points, progress=progress))
    return [approx.fit(name, (width,), act, points=points, progress=progress)]


def panel() -> None:
    st.markdown(tr("neurons.approx_intro"))
    c = st.columns([1.3, 1.5, 1.2, 1.4], vertical_alignment="bottom")
    name = c[0].selectbox(tr("neurons.approx_target"), approx.TARGETS, key=K + "target",
                          format_func=lambda n: tr(f"neurons.approx_target_{n}"))
    width = c[1].select_slider(tr("neurons.approx_width"), approx.WIDTHS, key=K + "width")
    act = c[2].segmented_control(tr("neurons.approx_act"), list(approx.ACTIVATIONS), key=K + "act", required=True)
    deep = c[3].toggle(tr("neurons.approx_deep"), key=K + "deep", help=tr("neurons.approx_deep_help"))
    if deep and approx.same_budget_deep(width) is None:
        st.info(tr("neurons.approx_deep_too_small", weights=approx.count(approx.mlp((width,)))), icon=":material/info:")
        deep = False
    points = None
    if name == "points":
        text = st.text_input(tr("neurons.approx_points"), key=K + "points", max_chars=400,
                             help=tr("neurons.approx_points_help", most=approx.MAX_POINTS, lo=approx.X_RANGE[0],
                                     hi=approx.X_RANGE[1]))
        try:
            points = approx.parse_points(text)
        except LabError as e:
            st.warning(e.message(lang()), icon=":material/edit_note:")
            return
    key = ("approximation", name, width, act, deep, None if points is None else tuple(map(tuple, points.tolist())))
    fits = background(key, tr("neurons.approx_training"), _fits, name, width, act, deep, points)
    if fits is None:
        return
    labels = [tr("neurons.approx_label", hidden=" × ".join(map(str, f.hidden)), params=f.params) for f in fits]
    st.plotly_chart(approximation_figure(fits, labels, points, lang=lang()), key="nr.fig.approx")
    st.markdown("  \n".join(tr("neurons.approx_result", label=label, mse=f.mse) for f, label in zip(fits, labels,
                                                                                                  strict=True)))
    st.plotly_chart(approximation_loss_figure(fits, labels, lang=lang()), key="nr.fig.approx_loss")
    st.caption(tr("neurons.approx_caption"))
