"""Training tricks for deep networks (the seed lesson "tricks", with lesson 12). First tab: initialisation x
activation x depth, instant: one batch through a freshly initialised MLP (labcore.tricks.init_explorer), the std
of every layer's activations and gradients on a log axis. Second tab: classic comparisons (batch norm,
regularisation, random labels, clipping, learning-rate decay), each an optimizer race (app/tricks_compare.py).
Every widget's key is "tk." + its link param.
"""

from __future__ import annotations

import streamlit as st

from app import links, tricks_compare, tricks_train
from app.state import lang, tr
from labcore.links import TRICKS_PANELS, tricks_names
from labcore.tricks import figures
from labcore.tricks import init_explorer as ie

K = "tk."
PANEL = K + "panel"  # the open tab, as a panel name (the tabs widget itself holds its label, which is translated)
ss = st.session_state


@st.cache_data(show_spinner=False, max_entries=64)
def _explore(init: str, activation: str, depth: int, width: int) -> ie.InitResult:
    return ie.explore(init, activation, depth, width)



SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _times(x: float) -> str:
    """A factor for the text: 5.08, 848, 12,300, 2.8 × 10²⁹."""
    if x < 1e6:
        return f"{x:,.0f}" if x >= 10 else f"{x:.3g}"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


def _gradient_note(r: ie.InitResult) -> str:
    ratio, first, last = r.grad_ratio(), r.grad_std[0], r.grad_std[-1]
    if ratio is None:
        return tr("tricks.grad_zero")
    values = {"n": _times(ratio if ratio >= 1 else 1 / ratio), "first": f"{first:.3g}", "last": f"{last:.3g}",
              "depth": r.depth}
    return tr("tricks.grad_grows" if ratio >= 1 else "tricks.grad_shrinks", **values)


def _activation_note(r: ie.InitResult) -> str:
    if not r.act_std.any():
        return tr("tricks.act_zero")
    return tr("tricks.act_range", first=f"{r.act_std[0]:.3g}", last=f"{r.act_std[-1]:.3g}", depth=r.depth,
              lo=f"{r.act_std.min():.3g}", hi=f"{r.act_std.max():.3g}")


def _init_panel() -> None:
    st.markdown(tr("tricks.init_intro"))
    c = st.columns([1.4, 1.3, 1.6, 1.2], vertical_alignment="bottom")
    init = c[0].selectbox(tr("tricks.init"), ie.INITS, key=K + "init.scheme", format_func=lambda n: tr(f"tricks.init_{n}"))
    act = c[1].segmented_control(tr("tricks.activation"), ie.ACTIVATIONS, key=K + "init.act", required=True,
                                 format_func=lambda n: tr(f"tricks.act_{n}"))
    lo, hi, step = ie.DEPTH_RANGE
    depth = int(c[2].slider(tr("tricks.depth"), lo, hi, step=step, key=K + "init.depth"))
    width = c[3].select_slider(tr("tricks.width"), ie.WIDTHS, key=K + "init.width")
    r = _explore(init, act, depth, width)
    st.caption(tr(f"tricks.about_{init}", std=f"{ie.weight_std(init, width):.4g}", width=width))
    st.plotly_chart(figures.std_figure(r, lang=lang()), key=K + "fig.std")
    st.markdown(_gradient_note(r) + "  \n" + _activation_note(r))
    st.info(tr("tricks.init_look"), icon=":material/visibility:")
    st.caption(tr("tricks.init_caption", batch=ie.BATCH, width=width, classes=ie.CLASSES))
    with st.expander(tr("tricks.hist_title")):
        st.plotly_chart(figures.histogram_figure(r, lang=lang()), key=K + "fig.hist")
        st.caption(tr("tricks.hist_caption"))
    tricks_train.section(init, act, depth, width)


# -- the page ---------------------------------------------------------------------------------------------------
links.setup_tabs("tricks", K, TRICKS_PANELS, tricks_names())
st.title(tr("tricks.title"))
st.caption(tr("tricks.intro"))
PANELS = {"init": _init_panel, "compare": tricks_compare.panel}
tabs = links.tabs("tricks", K, TRICKS_PANELS)
for tab, panel in zip(tabs, TRICKS_PANELS, strict=True):
    with tab:
        PANELS[panel]()
