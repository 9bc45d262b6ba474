"""Controls shared by the pages that run a `CompareJob` (Sequences, Attention): the Train / Pause / Stop
row, the progress line, and starting a job. Each page keeps its job id under its own session key."""

from __future__ import annotations

import math
from collections.abc import Callable

import streamlit as st

from app.state import current_job, lang, start_job, tr
from app.widgets import pause_stop_buttons, polling_fragment, stale_notice, waiting_notice
from labcore.train.compare import CompareConfig, CompareJob

POLL_SECONDS = 0.5


def job_buttons(cfg: CompareConfig | None, job_key: str, label: str, job_class: type = CompareJob) -> CompareJob | None:
    """Train / Pause (Resume) / Stop for the page's job; returns the job (None before the first run). `job_class`:
    a page's own kind of CompareJob (the Sequences page's is recorded in the run history)."""
    job = current_job(job_key)
    active = job is not None and not job.done
    cols = st.columns([1.4, 1, 1, 3], vertical_alignment="bottom")
    cols[0].button(label, type="primary", on_click=start_job, args=(cfg, job_key, f"{job_key}.error", job_class),
                   disabled=active or cfg is None, key=f"{job_key}.train", icon=":material/play_arrow:", width="stretch")
    pause_stop_buttons(cols[1], cols[2], job, f"{job_key}.")
    if f"{job_key}.error" in st.session_state:
        st.warning(st.session_state[f"{job_key}.error"])
    stale_notice(job, cfg)
    return job


def live_panel(job_key: str, draw: Callable[[CompareJob | None], None]) -> None:
    """`draw(job)` now, then twice a second while the job runs; one full rerun when it ends, so the buttons
    unlock and the page's results appear."""
    job = current_job(job_key)
    active = job is not None and not job.done

    @polling_fragment(POLL_SECONDS if active else None)
    def live() -> None:
        j = current_job(job_key)
        draw(j)
        if active and j is not None and j.done:
            st.rerun()

    live()


def progress_line(job: CompareJob) -> None:
    if waiting_notice(job):
        return
    p = job.progress()
    if job.done:
        st.progress(1.0, text=tr("sequences.progress_done", status=tr(f"status.{job.status}"), models=p["parts"],
                                 elapsed=p["elapsed_s"]))
        return
    eta = "–" if not math.isfinite(p["eta_s"]) else f"{p['eta_s']:.0f} s"
    model = tr(f"models.{p['part']}") if p["part"] else ""
    text = tr("sequences.progress", status=tr(f"status.{job.status}"), model=model, index=p["index"],
              models=p["parts"], epoch=p["epoch"], epochs=p["epochs"], elapsed=p["elapsed_s"], eta=eta)
    st.progress(p["fraction"], text=text)


def job_error(job: CompareJob) -> None:
    if job.done and job.error is not None:
        st.error(job.error.message(lang()))
