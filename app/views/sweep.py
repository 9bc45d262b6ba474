"""Sweep (issue 14): a grid or random search over learning rate, batch size, optimizer and width for a Train-page
setup, with successive halving cutting bad trials early. Locally the sweep is one engine job that trains the trials
one or two at a time in this process (labcore.sweep.job); with LAB_RAY_ADDRESS set and Ray installed it can run on
Ray Tune with ASHA instead (labcore.sweep.ray_backend). Live curves while it runs, then a heat map, a
parallel-coordinates plot and a table with a Train-page link per trial (app/sweep_results.py).

Every widget's key is "sw." + its link param.
"""

from __future__ import annotations

import math

import streamlit as st

from app import links
from app.compare import live_panel
from app.state import current_job, lang, start_job, tr
from app.sweep_results import results
from app.widgets import pause_stop_buttons, stale_notice, waiting_notice
from labcore.data import dataset_info
from labcore.links import BATCH_SIZES, LEARNING_RATES, SWEEP_RANGES, WIDTHS, sweep_names
from labcore.models import models_for
from labcore.sweep import ETAS, METHODS, PARALLEL, SweepConfig, SweepJob, halving, ray_ready, size
from labcore.sweep.space import MAX_TRIALS, SWEEP_DATASETS, SWEEP_MODELS
from labcore.train.optimizers import OPTIMIZERS
from labcore.viz.sweep import curves_figure

K = "sw."
JOB_KEY = K + "job_id"
ERROR_KEY = K + "error"
ss = st.session_state


def _range(name: str, label: str, col) -> int:
    lo, hi, step = SWEEP_RANGES[name]
    return int(col.slider(label, lo, hi, step=step, key=K + name))


def _controls() -> SweepConfig | None:
    c = st.columns(4)
    data = c[0].selectbox(tr("sweep.data"), SWEEP_DATASETS, key=K + "data", format_func=lambda n: tr(f"datasets.{n}"))
    models = [m for m in SWEEP_MODELS if m in models_for(dataset_info(data))]
    model = c[1].selectbox(tr("sweep.model"), models, key=K + "model", format_func=lambda n: tr(f"models.{n}"))
    method = c[2].segmented_control(tr("sweep.method"), METHODS, key=K + "method", required=True,
                                    format_func=lambda n: tr(f"sweep.method_{n}"))
    backend = "local"
    if ray_ready():
        backend = c[3].segmented_control(tr("sweep.backend"), ("local", "ray"), key=K + "backend", required=True,
                                         format_func=lambda n: tr(f"sweep.backend_{n}"))
    c = st.columns(4)
    lrs = c[0].multiselect(tr("sweep.lr"), LEARNING_RATES, key=K + "lr", format_func=lambda v: f"{v:g}",
                           help=tr("sweep.lr_help") if method == "random" else None)
    batches = c[1].multiselect(tr("sweep.batch"), BATCH_SIZES, key=K + "batch")
    optims = c[2].multiselect(tr("sweep.optim"), OPTIMIZERS.names(), key=K + "optim",
                              format_func=lambda n: tr(f"optimizers.{n}"))
    widths = c[3].multiselect(tr("sweep.width"), WIDTHS, key=K + "width")
    c = st.columns(5 if method == "random" else 4)
    samples = _range("samples", tr("sweep.samples"), c[4]) if method == "random" else 8
    epochs = _range("epochs", tr("sweep.epochs"), c[0])
    eta = c[1].segmented_control(tr("sweep.eta"), ETAS, key=K + "eta", required=True, help=tr("sweep.eta_help"))
    parallel = c[2].segmented_control(tr("sweep.parallel"), PARALLEL, key=K + "parallel", required=True,
                                      help=tr("sweep.parallel_help"))
    seed = _range("seed", tr("sweep.seed"), c[3])
    if not (lrs and batches and optims and widths):
        st.warning(tr("sweep.pick_one"), icon=":material/checklist:")
        return None
    cfg = SweepConfig(data=data, model=model, method=method, lrs=tuple(sorted(lrs)), batch_sizes=tuple(sorted(batches)),
                      optimizers=tuple(optims), widths=tuple(sorted(widths)), samples=samples, epochs=epochs,
                      eta=int(eta), parallel=int(parallel), seed=seed, backend=backend)
    n = size(cfg)
    if n > MAX_TRIALS:
        st.warning(tr("sweep.too_many", n=n, most=MAX_TRIALS), icon=":material/warning:")
        return None
    plan = ", ".join(tr("sweep.rung", trials=k, epoch=e) for e, k in halving.plan(n, epochs, eta))
    st.caption(tr("sweep.plan", n=n, plan=plan, budget=halving.budget(n, epochs, eta), full=n * epochs))
    return cfg


def _buttons(cfg: SweepConfig | None) -> None:
    job = current_job(JOB_KEY)
    active = job is not None and not job.done
    cols = st.columns([1.4, 1, 1, 3], vertical_alignment="bottom")
    cols[0].button(tr("sweep.run"), type="primary", on_click=start_job, args=(cfg, JOB_KEY, ERROR_KEY, SweepJob),
                   disabled=active or cfg is None, key=K + "run", icon=":material/play_arrow:", width="stretch")
    pause_stop_buttons(cols[1], cols[2], job, K)
    if ERROR_KEY in ss:
        st.warning(ss[ERROR_KEY])
    stale_notice(job, cfg)


def _live(job: SweepJob | None) -> None:
    if job is None:
        st.info(tr("sweep.start_hint"), icon=":material/play_circle:")
        return
    if waiting_notice(job):
        return
    p = job.progress()
    rows = job.rows()
    if job.done:
        st.progress(1.0, text=tr("sweep.progress_done", status=tr(f"status.{job.status}"), n=len(rows),
                                 epochs=p.epoch, elapsed=p.elapsed_s))
    else:
        eta = "–" if not math.isfinite(p.eta_s) else f"{p.eta_s:.0f} s"
        st.progress(p.fraction, text=tr("sweep.progress", status=tr(f"status.{job.status}"), epochs=p.epoch,
                                        budget=p.epochs, elapsed=p.elapsed_s, eta=eta))
    if job.ray_init_s is not None:
        st.caption(tr("sweep.ray_connected", seconds=job.ray_init_s))
    cfg = job.config
    st.plotly_chart(curves_figure(rows, halving.rungs(cfg.epochs, cfg.eta) if cfg.backend == "local" else (),
                                  lang=lang()), key=K + "fig.curves")
    if job.done and job.error is not None:
        st.error(job.error.message(lang()))


# -- the page ---------------------------------------------------------------------------------------------------
links.setup(links.PageLink("sweep", keys={name: K + name for name in sweep_names()}))
st.title(tr("sweep.title"))
st.caption(tr("sweep.intro"))
with st.expander(tr("sweep.how_title"), icon=":material/help:"):
    st.markdown(tr("sweep.how"))
config = _controls()
_buttons(config)
live_panel(JOB_KEY, _live)
results(current_job(JOB_KEY))
