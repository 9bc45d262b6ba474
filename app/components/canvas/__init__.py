"""The drawing pad of the Try it page: a Streamlit v2 component (HTML, CSS and JS in this folder, nothing fetched
from a network). It returns the strokes, each a list of [x, y] points in [0, 1] of the pad; the preprocessing
that turns them into a model's input is `labcore.data.drawing`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

_HERE = Path(__file__).parent
_PAD = st.components.v2.component(
    "lab_drawing_canvas",
    html=(_HERE / "canvas.html").read_text(encoding="utf-8"),
    css=(_HERE / "canvas.css").read_text(encoding="utf-8"),
    js=(_HERE / "canvas.js").read_text(encoding="utf-8"),
)


def _changed() -> None:  # a state callback makes "strokes" a state the pad may set
    pass


def drawing_canvas(key: str, *, undo: str, clear: str, label: str) -> list:
    """The strokes drawn so far (an empty list before the first stroke and after Clear)."""
    result = _PAD(key=key, data={"undo": undo, "clear": clear, "label": label}, default={"strokes": []},
                  on_strokes_change=_changed, width="content")
    strokes = getattr(result, "strokes", None)
    return strokes if isinstance(strokes, list) else []
