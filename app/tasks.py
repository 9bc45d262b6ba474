"""Background computations for pages: start once, draw a progress bar while they run, rerun when done.
They are engine jobs (labcore.tasks.Task): counted by the same capacity as training, owned by the tab that
asked first, and stopped with it."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st
from torch import nn

from app.state import lang, lease, registry, tr
from app.widgets import polling_fragment
from labcore.data.online import download
from labcore.i18n import LabError

POLL_SECONDS = 0.5


def background(key: Hashable, what: str, fn: Callable[..., Any], *args: Any, model: nn.Module | None = None,
               **kwargs: Any) -> Any | None:
    """The result of `fn(*args, **kwargs)`, or None while it is still computing (a progress bar labelled
    `what` is drawn and the page reruns itself when the result is ready) or when it failed or could not
    start: then its error is shown with a button to try again. A failure is never retried by itself (a
    rerun must not start the same failing work again). With `model`, `fn` gets a copy of it as first
    argument, made only when the task starts: captum and SHAP hook into a model, and two threads hooking
    the same one would mix up."""
    retry_key = f"retry:{hash(key)}"
    retry = bool(st.session_state.pop(retry_key, False))
    task = registry().find_task(key)
    if task is None or retry:
        if model is not None:
            args = (copy.deepcopy(model).eval(), *args)
        try:
            task = registry().task(key, fn, *args, owner=lease().owner, retry=retry, **kwargs)
        except LabError as e:  # the server is busy: say so, and let the user ask again
            _failed(e, retry_key)
            return None
    if task.status == "finished":
        return task.result
    if task.status in ("failed", "stopped"):
        _failed(task.error or LabError("app.task_stopped"), retry_key)
        return None
    _progress(key, what)
    return None


def download_panel(name: str) -> None:
    """A button that downloads online dataset `name` as a background job, with a progress bar."""
    key = ("download", name)
    if registry().find_task(key) is None and not st.button(tr("data.download", name=name), key=f"btn_download_{name}",
                                                          icon=":material/download:"):
        return
    if background(key, tr("data.downloading", name=name), download, name):  # True once both splits are on disk
        st.rerun()


def _failed(error: LabError, retry_key: str) -> None:
    st.error(error.message(lang()), icon=":material/error:")
    if st.button(tr("app.task_retry"), key=f"btn_{retry_key}", icon=":material/refresh:"):
        st.session_state[retry_key] = True
        st.rerun()


def _progress(key: Hashable, what: str) -> None:
    @polling_fragment(POLL_SECONDS)
    def bar() -> None:
        task = registry().find_task(key)
        if task is None or task.done:
            st.rerun(scope="app")  # the result (or its error) is drawn by the full script
        place = registry().place_in_line(task)
        if place is not None:
            st.progress(0.0, text=tr("engine.waiting_task", what=what, place=place[0], seconds=place[1]))
            return
        p = task.progress()
        st.progress(p.fraction, text=tr("app.task_running", what=what, percent=p.fraction, seconds=p.elapsed_s))

    bar()
