"""Mixed precision (lesson 18): float32, float16 and bfloat16 bit by bit; loss scaling against float16 underflow;
bfloat16 autocast on this CPU against float32.

The first tab is instant (labcore.precision.formats: numpy and torch views of the bits). The second trains the
digits MLP for under a second as a background task when its tab is opened, then each scale is one float16
backward; the third runs its comparison only when asked (a button). Every widget's key is "pr." + its link param.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import links, precision_panels
from app.state import lang, tr
from labcore.i18n import LabError
from labcore.links import PRECISION_PANELS, precision_names
from labcore.precision import figures
from labcore.precision import formats as fm

K = "pr."
PANEL = K + "panel"  # the open tab, as a panel name (the tabs widget itself holds its label, which is translated)
ss = st.session_state



def _ascii() -> None:
    """Persian or Arabic digits typed in the box become ASCII ones: the same number, and a link that reads back."""
    text = ss.get(K + "number")
    if isinstance(text, str):
        ss[K + "number"] = fm.ascii_number(text).replace("\u2212", "-").strip()


def _num(x: float) -> str:
    """A stored value in full: repr gives the shortest text that reads back as exactly this float64."""
    if x != x:
        return "NaN"
    return "∞" if x == float("inf") else "−∞" if x == float("-inf") else repr(float(x))


def _err(x: float) -> str:
    return "∞" if x == float("inf") else "0" if x == 0 else f"{x:.3e}"


def _tex(x: float) -> str:
    """A float in LaTeX: 1e-08 as 1 \\times 10^{-8}."""
    mant, _, exp = _num(x).partition("e")
    return rf"{mant} \times 10^{{{int(exp)}}}" if exp else mant


def _formula(e: fm.Encoded) -> str:
    if e.kind == "inf":
        return rf"\texttt{{{e.fmt}}}:\ {'-' if e.sign else '+'}\infty"
    return (rf"\texttt{{{e.fmt}}}:\ (-1)^{{{e.sign}}} \times 2^{{{e.exponent}}} \times {_tex(e.significand)}"
            rf" = {_tex(e.stored)}")


def _formats() -> None:
    st.markdown(tr("precision.formats_intro"))
    text = st.text_input(tr("precision.number"), key=K + "number", max_chars=fm.MAX_CHARS,
                         help=tr("precision.number_help"), on_change=_ascii)
    try:
        value = fm.parse_number(text)
    except LabError as e:
        st.warning(e.message(lang()), icon=":material/edit_note:")
        return
    encoded = fm.encode_all(value)
    st.plotly_chart(figures.bits_figure(encoded, lang=lang()), key=K + "fig.bits")
    for e in encoded:
        st.latex(_formula(e))
    rows = [{tr("precision.col_format"): e.fmt, tr("precision.col_bits"): f"0x{e.bits:0{e.width // 4}X}",
             tr("precision.col_kind"): tr(f"precision.kind_{e.kind}"), tr("precision.col_stored"): _num(e.stored),
             tr("precision.col_abs"): _err(e.abs_error), tr("precision.col_rel"): _err(e.rel_error)}
            for e in encoded]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    for e in encoded:
        if e.kind == "inf":
            st.warning(tr("precision.overflow", fmt=e.fmt, max=f"{fm.format_range(e.fmt).max:.6g}"),
                       icon=":material/warning:")
        elif e.kind == "zero" and value != 0:
            st.warning(tr("precision.flushed", fmt=e.fmt, tiny=f"{fm.format_range(e.fmt).smallest_subnormal:.3g}"),
                       icon=":material/warning:")
        elif e.kind == "subnormal":
            st.info(tr("precision.subnormal", fmt=e.fmt, normal=f"{fm.format_range(e.fmt).smallest_normal:.3g}"),
                    icon=":material/info:")
    st.subheader(tr("precision.ranges"))
    ranges = [fm.format_range(f) for f in fm.FORMATS]
    st.dataframe(pd.DataFrame([{tr("precision.col_format"): r.fmt, tr("precision.col_max"): f"{r.max:.6g}",
                                tr("precision.col_normal"): f"{r.smallest_normal:.6g}",
                                tr("precision.col_subnormal"): f"{r.smallest_subnormal:.6g}",
                                tr("precision.col_eps"): f"{r.eps:.6g}"} for r in ranges]), hide_index=True)
    st.caption(tr("precision.formats_caption"))


# -- the page ---------------------------------------------------------------------------------------------------
links.setup_tabs("precision", K, PRECISION_PANELS, precision_names())
st.title(tr("precision.title"))
st.caption(tr("precision.intro"))
PANELS = {"scaling": precision_panels.scaling, "autocast": precision_panels.autocast}
tabs = links.tabs("precision", K, PRECISION_PANELS)
for tab, panel in zip(tabs, PRECISION_PANELS, strict=True):
    with tab:
        if panel == "formats":
            _formats()
        else:  # the heavier tabs compute only while open
            PANELS[panel](ss[PANEL] == panel)
