"""Background computations for pages: start once, draw a progress bar while they run, rerun when done."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st
from torch import nn

from app.state import lang, tr
from app.widgets import polling_fragment
from labcore.tasks import TaskStore

POLL_SECONDS = 0.5


@st.cache_resource(show_spinner=False)
def store() -> TaskStore:
    """One store per server process: a result computed for one tab is reused by the others."""
    return TaskStore()


def background(key: Hashable, what: str, fn: Callable[..., Any], *args: Any, model: nn.Module | None = None,
               **kwargs: Any) -> Any | None:
    """The result of `fn(*args, **kwargs)`, or None while it is still computing (a progress bar labelled
    `what` is drawn and the page reruns itself when the result is ready) or after it failed (the
    error is shown). With `model`, `fn` gets a copy of it as first argument, made only when the task
    starts: captum and SHAP hook into a model, and two threads hooking the same one would mix up."""
    task = store().get(key)
    if task is None or task.status == "failed":
        if model is not None:
            args = (copy.deepcopy(model).eval(), *args)
        task = store().submit(key, fn, *args, **kwargs)
    if task.status == "done":
        return task.result
    if task.status == "failed":
        st.error(task.error.message(lang()), icon=":material/error:")
        return None
    _progress(key, what)
    return None


def _progress(key: Hashable, what: str) -> None:
    @polling_fragment(POLL_SECONDS)
    def bar() -> None:
        task = store().get(key)
        if task is None or task.done:
            st.rerun(scope="app")  # the result (or its error) is drawn by the full script
        st.progress(task.progress, text=tr("app.task_running", what=what, percent=task.progress,
                                            seconds=task.seconds))

    bar()
