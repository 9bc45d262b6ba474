"""The only Streamlit glue with state: the process-wide job registry, the per-tab lease that stops a
tab's jobs when it closes, the current language, and cached data loading."""

from __future__ import annotations

import logging
import uuid

import streamlit as st

from labcore.config import DataConfig
from labcore.data import DataBundle, load_dataset
from labcore.i18n import DEFAULT_LANG, LabError, is_rtl, t
from labcore.train.job import JobRegistry, TrainingJob

log = logging.getLogger("lab")


@st.cache_resource(show_spinner=False)
def registry() -> JobRegistry:
    """One registry per server process, shared by every tab: it caps concurrent training on 2 cores."""
    return JobRegistry(max_running=2)


class Lease:
    def __init__(self) -> None:
        self.owner = uuid.uuid4().hex[:8]


def _release(lease: Lease) -> None:
    # Runs when the tab's websocket closes (tab closed, reload): its training must not burn the CPU on.
    stopped = registry().stop_owned_by(lease.owner)
    log.info("session %s ended; stopped %d job(s)", lease.owner, stopped)


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def lease() -> Lease:
    return Lease()


def current_job(key: str = "job_id") -> TrainingJob | None:
    return registry().get(st.session_state.get(key))


def start_job(cfg, job_key: str, error_key: str, job_class=None) -> TrainingJob | None:
    """A page's Train button: start `cfg` for this tab and remember the job under `job_key`, or the reason it
    could not start under `error_key` (the page shows it). Waits up to 0.4 s for the first batch, so the
    rerun after the click already draws the first points instead of waiting for the next poll."""
    try:
        job = registry().submit(cfg, owner=lease().owner, job_class=job_class)
    except LabError as e:
        st.session_state[error_key] = e.message(lang())
        return None
    st.session_state[job_key] = job.id
    st.session_state.pop(error_key, None)
    job.wait_first_step()
    return job


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANG)


def tr(key: str, **fmt: object) -> str:
    """Text from the catalogue in the tab's language."""
    return t(key, lang(), **fmt)


def apply_direction() -> None:
    """Right-to-left layout for Hebrew and Persian."""
    if is_rtl(lang()):
        st.html("<style>.stMain, .stSidebar {direction: rtl; text-align: right;}</style>")


@st.cache_data(show_spinner=False, max_entries=16)
def data_preview(cfg: DataConfig) -> DataBundle:
    """The dataset for previews on the page (labcore caches the tensors too)."""
    return load_dataset(cfg)
