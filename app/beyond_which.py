"""The Beyond classification page's "Which architecture?" tab: four questions, the book's rules of thumb
(labcore.beyond.suggest), and a link to the lab demonstration that shows the suggestion."""

from __future__ import annotations

import streamlit as st

from app import present
from app.state import lang, tr
from labcore.beyond import suggest
from labcore.i18n import DEFAULT_LANG
from labcore.presets import BY_ID, page_script

K = "by.which."


def panel() -> None:
    st.markdown(tr("beyond.which_intro"))
    c = st.columns(4)
    answers = {}
    for col, (name, choices) in zip(c, (("data", suggest.DATA), ("rows", suggest.ROWS), ("labels", suggest.LABELS),
                                        ("task", suggest.TASKS)), strict=True):
        answers[name] = col.selectbox(tr(f"beyond.q_{name}"), choices, key=K + name,
                                      format_func=lambda v, n=name: tr(f"beyond.a_{n}_{v}"))
    s = suggest.suggest(**answers)
    st.success(tr(f"beyond.rule.{s.rule}"), icon=":material/lightbulb:")
    st.markdown(tr(f"beyond.why.{s.rule}"))
    for note in s.notes:
        st.info(tr(f"beyond.note.{note}"), icon=":material/info:")
    preset = BY_ID[s.preset]
    carried = {"lang": lang()} if lang() != DEFAULT_LANG else {}
    carried |= {"present": "1"} if present.presenting() else {}
    st.page_link(page_script(preset.page), label=tr("beyond.open_demo", demo=tr(preset.title_key)),
                 icon=":material/arrow_forward:", query_params={**preset.query, **carried})
    st.caption(tr(preset.help_key))
    st.caption(tr("beyond.which_caption"))
