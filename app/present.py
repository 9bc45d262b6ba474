"""Presentation mode (`?present=1` or the sidebar toggle): the lab as a teacher shows it on a projector.

Larger type and chart fonts, the sidebar collapsed, explanations cut to a short caption, rarely needed
controls behind one expander. Pages opt into the last two with `explain(...)` and `rarely_needed()`;
larger type and chart fonts apply to every page on their own (CSS, and every Plotly chart passes
through `labcore.viz.theme.localize` on its way to the browser, which also sets its text direction;
`install_hooks` also turns tables round for right-to-left languages).
"""

from __future__ import annotations

import contextlib
import functools
import re
import types
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app.state import lang, tr
from labcore.i18n import DEFAULT_LANG, is_rtl
from labcore.viz.theme import localize

CHART_SCALE = 1.35  # chart fonts in presentation mode: 13 px -> about 18 px
# Page text: Streamlit sizes everything in rem, so one root size scales text, widgets and spacing together.
PRESENT_CSS = """
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; padding-left: 2rem; padding-right: 2rem; }
/* Explanations: two lines at most, the teacher tells the rest (`explain` gives a page a cleaner cut). */
[data-testid="stCaptionContainer"] {
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden; margin-bottom: 0.5rem;
}
"""
LAB_CSS = Path(__file__).with_name("lab.css")


def presenting() -> bool:
    """Presentation mode on? The link's `present` param is stored in the session (links engineer's
    contract); before that has run, the raw link decides."""
    if "present" in st.session_state:
        return bool(st.session_state["present"])
    return st.query_params.get("present") == "1"


def to_link(name: str) -> None:
    """`on_change` of the language menu and the presentation switch: the new value into the link at once,
    before the rerun reads the link (app/links.py), so a link that still says otherwise cannot switch it
    back (Home writes no link of its own)."""
    value = st.session_state.get(name)
    if value in (None, False, DEFAULT_LANG):
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = "1" if value is True else str(value)


def toggle(container=st.sidebar) -> None:
    """The sidebar switch. Its key is the session's "present", which app/links.py reads from a link and
    writes into the page's link (`present=1`); the switch writes the link at once too."""
    st.session_state["present"] = presenting()  # a widget key set before the widget: no default clash
    container.toggle(tr("present.toggle"), key="present", help=tr("present.toggle_help"), on_change=to_link,
                     args=("present",))


def apply() -> None:
    """Page-wide CSS, once per run after `st.set_page_config`: the lab's fixes (app/lab.css), and the
    presentation look when presenting."""
    css = LAB_CSS.read_text(encoding="utf-8") + (PRESENT_CSS if presenting() else "")
    st.html(f"<style>{css}</style>")


def chart_scale() -> float:
    return CHART_SCALE if presenting() else 1.0


def short(text: str) -> str:
    """The first sentence of `text` (up to its full stop, Persian/Hebrew stops included)."""
    return re.split(r"(?<=[.!?؟。])\s", text.strip(), maxsplit=1)[0]


def explain(key: str, **fmt: object) -> None:
    """An explanation: the whole text as a caption, or its first sentence when presenting. A `<key>_short`
    entry in the catalogue, when there is one, is the presenter's version."""
    text = tr(key, **fmt)
    if presenting():
        try:
            text = tr(f"{key}_short", **fmt)
        except KeyError:
            text = short(text)
    st.caption(text)


@contextlib.contextmanager
def rarely_needed():
    """Controls a teacher rarely needs in front of a class: in one expander when presenting, else in place."""
    if presenting():
        with st.expander(tr("present.more_controls"), icon=":material/tune:"):
            yield
    else:
        yield


def install_hooks() -> None:
    """Every chart and table on its way to the browser fits the tab's language and mode: `plotly_chart`
    (st., a column, the sidebar) localises its figure (`labcore.viz.theme.localize`: right-to-left text and
    sides, presentation font sizes) and, right to left, `dataframe` puts the first column on the right.
    Installed once per process; each call reads its session, so fragment reruns are right too."""
    if getattr(DeltaGenerator.plotly_chart, "_lab_hook", False):
        return
    chart, table = DeltaGenerator.plotly_chart, DeltaGenerator.dataframe

    @functools.wraps(chart)
    def plotly_chart(self, figure_or_data, *args, **kwargs):
        if hasattr(figure_or_data, "layout"):
            localize(figure_or_data, lang=lang(), scale=chart_scale())
        return chart(self, figure_or_data, *args, **kwargs)

    @functools.wraps(table)
    def dataframe(self, data=None, *args, **kwargs):
        if is_rtl(lang()) and isinstance(data, pd.DataFrame):
            data, kwargs = _right_to_left(data, kwargs)
        return table(self, data, *args, **kwargs)

    plotly_chart._lab_hook = True
    DeltaGenerator.plotly_chart, DeltaGenerator.dataframe = plotly_chart, dataframe
    # `st.plotly_chart` and `st.dataframe` were bound to the main container when streamlit was imported.
    st.plotly_chart, st.dataframe = types.MethodType(plotly_chart, st._main), types.MethodType(dataframe, st._main)


def _right_to_left(frame: pd.DataFrame, kwargs: dict) -> tuple[pd.DataFrame, dict]:
    """A table for a right-to-left reader: its columns in reverse order, so the first one is on the right.
    Cells keep the grid's own alignment (numbers right, text left), drawn left to right (app/rtl.css)."""
    if kwargs.get("column_order") is not None:
        kwargs = {**kwargs, "column_order": list(kwargs["column_order"])[::-1]}
    return frame.iloc[:, ::-1], kwargs
