"""The only Streamlit glue with state: the process-wide job engine, the per-tab lease that hands a tab's
jobs to the engine's reaper when its connection closes, the current language, and shared data loading."""

from __future__ import annotations

import gc
import logging
import os
import uuid
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from labcore import tracking
from labcore.config import DataConfig
from labcore.data import DataBundle, load_dataset
from labcore.data.online import ONLINE, data_dir, is_cached
from labcore.engine import Engine, Job
from labcore.i18n import DEFAULT_LANG, LabError, is_rtl, t
from labcore.train.log import LogReader

log = logging.getLogger("lab")


def _session_exists(owner: str) -> bool | None:
    """Does Streamlit still keep this session (connected, or parked for a reconnect)? None: cannot tell."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        return Runtime.instance()._session_mgr.get_session_info(owner) is not None
    except Exception:  # a private API: if it moves, fall back to the engine's own timer
        return None


@st.cache_resource(show_spinner=False)
def registry() -> Engine:
    """One engine per server process, shared by every tab: it runs as many jobs at once as the machine takes
    (labcore.engine.capacity: LAB_MAX_JOBS, or 2 on 2 cores) and queues the rest fairly. A tab whose
    connection is gone keeps its jobs for LAB_ORPHAN_GRACE_S seconds (default 30) in case it reconnects."""
    # The half million objects torch, plotly, pandas and the rest create at import live as long as the
    # process: freeze them, so that Python's own full collections (rare) skip them. Streamlit's collection
    # after every run is off (.streamlit/config.toml): it took 0.2 s with the GIL held, and five tabs
    # polling twice a second starved the training threads until nothing moved.
    gc.freeze()
    engine = Engine(alive=_session_exists, orphan_grace_s=float(os.environ.get("LAB_ORPHAN_GRACE_S", 30)))
    tracking.install(engine)  # finished runs go to the run history (the Runs page), when mlflow is installed
    return engine


class Lease:
    """This tab's hold on its jobs while its websocket is open. The owner is the Streamlit session id,
    which survives a reconnect (a network blip); the lease itself is dropped on every disconnect."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        registry().attach(owner)


def _release(lease: Lease) -> None:
    # Runs when the tab's websocket closes: a closed tab, or a blip the page will reconnect from. Its jobs
    # go on for a grace period (engine.orphan_grace_s), so a reconnect finds them running; then they stop.
    registry().detach(lease.owner)
    log.info("session %s disconnected", lease.owner)


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _lease(owner: str) -> Lease:
    return Lease(owner)


def _session_id() -> str:
    ctx = get_script_run_ctx()
    if ctx is not None:
        return ctx.session_id
    return st.session_state.setdefault("_owner", uuid.uuid4().hex)


def lease() -> Lease:
    """The tab's lease (made again after a reconnect, for the same owner)."""
    return _lease(_session_id())


def current_job(key: str = "job_id") -> Job | None:
    return registry().get(st.session_state.get(key))


def start_job(cfg, job_key: str, error_key: str, job_class=None) -> Job | None:
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


def read_log(job: Job) -> tuple:
    """A training job's (step columns, epoch rows) so far, read incrementally: the tab keeps what it read
    and each poll takes only the new rows (a 100-epoch MNIST log has ~94,000 of them)."""
    trainer = getattr(job, "trainer", None)
    if trainer is None:
        return [], []
    reader = st.session_state.get("_log_reader")
    if reader is None or reader.log is not trainer.log:
        reader = st.session_state["_log_reader"] = LogReader(trainer.log)  # one per tab: the job on screen
    return reader.read()


def readable(name: str, *tables: str) -> str:
    """A registry name as a person reads it ("cnn" -> "CNN", "breast_cancer" -> "Breast cancer"): the first
    catalogue entry found among `tables` (e.g. "models", "transfer.backbone_"), without its " · " detail."""
    from labcore.i18n import has

    for table in tables:
        key = f"{table}{name}" if table.endswith("_") else f"{table}.{name}"
        if has(key):
            return tr(key).split(" · ")[0]
    return name


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANG)


def tr(key: str, **fmt: object) -> str:
    """Text from the catalogue in the tab's language."""
    return t(key, lang(), **fmt)


RTL_CSS = Path(__file__).with_name("rtl.css")


def apply_direction() -> None:
    """Right-to-left layout for Hebrew and Persian (app/rtl.css says what stays left to right)."""
    if is_rtl(lang()):
        st.html(f"<style>{RTL_CSS.read_text(encoding='utf-8')}</style>")


@st.cache_resource(show_spinner=False, max_entries=16)
def data_preview(cfg: DataConfig) -> DataBundle:
    """The dataset for previews on the page: one shared, read-only copy (st.cache_data would unpickle a
    fresh copy on every rerun: 185 MB for CIFAR-10). An online dataset that is not on disk yet raises
    LabError("data.download_first") instead of downloading in the page's thread (see download_panel)."""
    if cfg.name in ONLINE and not is_cached(cfg.name):
        raise LabError("data.download_first", name=cfg.name, root=str(data_dir()))
    return load_dataset(cfg)
