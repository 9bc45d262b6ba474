"""Transfer learning page: a pretrained backbone vs training from scratch, raced live on the same batches, on
built-in pairs, online sets or your own images (a zip, files per class, webcam shots).

labcore.transfer does the work; this page gathers the setup, starts a `TransferJob`, polls it and draws the live
curves. Its sections live in app/transfer_setup.py (weights, time estimate), app/transfer_uploads.py (your own
images) and app/transfer_results.py (table, verdict, feature view, downloads).
"""

from __future__ import annotations

import math
from functools import partial

import streamlit as st
import torch

from app import links, transfer_results, transfer_setup, transfer_uploads
from app.state import current_job, lang, start_job, tr
from app.transfer_uploads import UPLOAD
from app.widgets import pause_stop_buttons, polling_fragment, stale_notice, waiting_notice
from labcore.config import TrainConfig
from labcore.links import TRANSFER_BATCHES, TRANSFER_FACTORS, TRANSFER_LRS, TRANSFER_SIZES
from labcore.transfer.backbones import BACKBONES
from labcore.transfer.job import TransferConfig, TransferJob
from labcore.transfer.strategies import STRATEGIES
from labcore.transfer.targets import LABELS_PER_CLASS, TARGETS
from labcore.viz.transfer import transfer_curves_figure

POLL_SECONDS = 0.5
JOB_KEY = "tl_job_id"
LRS, FACTORS, BATCHES, SIZES = TRANSFER_LRS, TRANSFER_FACTORS, TRANSFER_BATCHES, TRANSFER_SIZES
ss = st.session_state

DEFAULTS = {"tl.backbone": "lab_digits", "tl.target": "digits_5_9", "tl.labels": 5, "tl.strategies": list(STRATEGIES),
            "tl.unfreeze": 2, "tl.gradual": False, "tl.lr": 1e-2, "tl.factor": 0.1, "tl.scratch_lr": 1e-3,
            "tl.epochs": 30, "tl.batch": 16, "tl.seed": 0, "tl.size": 64}
# A link (or the setup this page had when the user left it) goes into the widgets (app/links.py).
LINK_KEYS = {"target": "target", "labels_per_class": "labels", "backbone": "backbone", "image_size": "size",
             "strategies": "strategies", "unfreeze": "unfreeze", "gradual": "gradual", "lr": "lr",
             "backbone_lr_factor": "factor", "scratch_lr": "scratch_lr",
             "train.epochs": "epochs", "train.batch_size": "batch", "train.seed": "seed"}
links.setup(links.keys_with_prefix("transfer", "tl.", LINK_KEYS))
for k, v in DEFAULTS.items():
    ss.setdefault(k, v)


# -- callbacks ------------------------------------------------------------------------------------------------------
def _on_target() -> None:
    if ss["tl.target"] != UPLOAD:  # each built-in target comes with the backbone that suits it
        ss["tl.backbone"] = TARGETS.get(ss["tl.target"]).backbone


def _domain_gap() -> None:  # every label: from scratch then learns the shapes well, and the digits backbone hurts
    ss["tl.target"], ss["tl.backbone"], ss["tl.labels"] = "shapes_all", "lab_digits", 0


def _start(cfg: TransferConfig) -> None:
    data = ss.get("tl.upload_bundle") if cfg.target == UPLOAD else None
    if cfg.target == UPLOAD and data is None:
        ss["tl.error"] = tr("transfer.upload_first")
        return
    user_state = ss.get("tl.user_state", {}).get(cfg.backbone)
    if start_job(cfg, JOB_KEY, "tl.error", partial(TransferJob, data=data, user_state=user_state)) is not None:
        ss.pop("tl.embed", None)


# -- sidebar ----------------------------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _n_blocks(backbone: str) -> int:
    return len(BACKBONES.get(backbone).build()[2])


def _sidebar(locked: bool) -> TransferConfig:
    sb = st.sidebar
    sb.subheader(tr("transfer.sidebar_data"))
    sb.selectbox(tr("transfer.target"), [*TARGETS.names(), UPLOAD], key="tl.target", on_change=_on_target,
                 format_func=lambda n: tr(f"transfer.target_{n}"), disabled=locked)
    sb.select_slider(tr("transfer.labels"), LABELS_PER_CLASS, key="tl.labels", disabled=locked,
                     format_func=lambda k: tr("transfer.labels_all") if k == 0 else str(k), help=tr("transfer.labels_help"))
    sb.subheader(tr("transfer.sidebar_backbone"))
    sb.selectbox(tr("transfer.backbone"), BACKBONES.names(), key="tl.backbone", disabled=locked,
                 format_func=lambda n: tr(f"transfer.backbone_{n}"))
    backbone = ss["tl.backbone"]
    spec = BACKBONES.get(backbone)
    transfer_setup.weights_sidebar(backbone)
    size = 0
    if spec.torchvision:
        sb.select_slider(tr("transfer.size"), SIZES, key="tl.size", disabled=locked, help=tr("transfer.size_help"))
        size = int(ss["tl.size"])
    sb.subheader(tr("transfer.sidebar_strategies"))
    sb.multiselect(tr("transfer.strategies"), list(STRATEGIES), key="tl.strategies", disabled=locked,
                   format_func=lambda s: tr(f"transfer.strategy_{s}"))
    n_blocks = _n_blocks(backbone)
    ss["tl.unfreeze"] = min(ss["tl.unfreeze"], n_blocks)
    sb.slider(tr("transfer.unfreeze"), 1, n_blocks, key="tl.unfreeze", disabled=locked, help=tr("transfer.unfreeze_help"))
    sb.toggle(tr("transfer.gradual"), key="tl.gradual", disabled=locked, help=tr("transfer.gradual_help"))
    sb.select_slider(tr("transfer.lr"), LRS, key="tl.lr", format_func=lambda v: f"{v:g}", disabled=locked)
    sb.select_slider(tr("transfer.factor"), FACTORS, key="tl.factor", format_func=lambda v: f"× {v:g}",
                     disabled=locked, help=tr("transfer.factor_help"))
    if "scratch" in ss["tl.strategies"]:
        sb.select_slider(tr("transfer.scratch_lr"), LRS, key="tl.scratch_lr", format_func=lambda v: f"{v:g}",
                         disabled=locked, help=tr("transfer.scratch_lr_help"))
    sb.subheader(tr("ui.training"))
    sb.slider(tr("ui.epochs"), 1, 100, key="tl.epochs", disabled=locked)
    sb.select_slider(tr("ui.batch_size"), BATCHES, key="tl.batch", disabled=locked)
    sb.number_input(tr("ui.seed"), 0, 10_000, key="tl.seed", disabled=locked)
    return TransferConfig(target=ss["tl.target"], labels_per_class=int(ss["tl.labels"]), backbone=backbone,
                          strategies=tuple(s for s in STRATEGIES if s in ss["tl.strategies"]), image_size=size,
                          unfreeze=int(ss["tl.unfreeze"]), gradual=bool(ss["tl.gradual"]), lr=float(ss["tl.lr"]),
                          backbone_lr_factor=float(ss["tl.factor"]), scratch_lr=float(ss["tl.scratch_lr"]),
                          train=TrainConfig(epochs=int(ss["tl.epochs"]), batch_size=int(ss["tl.batch"]),
                                            seed=int(ss["tl.seed"])))


# -- the page -----------------------------------------------------------------------------------------------------------
torch.set_num_threads(1)  # this script's thread: the training thread gets the cores
job = current_job(JOB_KEY)
active = job is not None and not job.done

st.title(tr("transfer.title"))
st.caption(tr("transfer.intro"))
cfg = _sidebar(active)
links.publish()
with st.expander(tr("transfer.how_title"), icon=":material/school:"):
    st.markdown(tr("transfer.how"))
with st.expander(tr("transfer.challenge_title"), icon=":material/flag:"):
    st.markdown(tr("transfer.challenge"))
    st.button(tr("transfer.challenge_go"), on_click=_domain_gap, key="tl.gap", disabled=active)

spec = BACKBONES.get(cfg.backbone)
st.markdown(tr("transfer.recipe", backbone=tr(f"transfer.backbone_{cfg.backbone}"),
               target=tr(f"transfer.target_{cfg.target}"),
               labels=tr("transfer.labels_all") if cfg.labels_per_class == 0 else cfg.labels_per_class,
               size=cfg.image_size or spec.default_size, epochs=cfg.train.epochs))
if cfg.target == UPLOAD:
    transfer_uploads.own_images()
elif TARGETS.get(cfg.target).online:
    st.info(tr("transfer.online_note"), icon=":material/cloud_download:")
if not active:
    transfer_setup.estimate(cfg)

cols = st.columns([1.3, 1, 1, 3], vertical_alignment="bottom")
cols[0].button(tr("transfer.start"), type="primary", on_click=_start, args=(cfg,), key="tl.btn_start",
               disabled=active or not cfg.strategies, icon=":material/play_arrow:", width="stretch")
pause_stop_buttons(cols[1], cols[2], job, "tl.")
if not cfg.strategies:
    st.warning(tr("transfer.no_strategy"))
if "tl.error" in ss:
    st.warning(ss["tl.error"])
if job is not None:  # your own images: a new zip or set of files is a new setup too
    stale_notice(job, cfg, same_data=cfg.target != UPLOAD or job.trainer is None
                 or job.trainer.data is ss.get("tl.upload_bundle"))


@polling_fragment(POLL_SECONDS if active else None)
def live_panel() -> None:
    j = current_job(JOB_KEY)
    if j is None:
        st.plotly_chart(transfer_curves_figure({}, lang=lang()), key="tl.curves")
        return
    if waiting_notice(j):
        st.plotly_chart(transfer_curves_figure({}, lang=lang()), key="tl.curves")
        return
    p = j.progress()
    if j.race is None and not j.done:
        st.progress(0.0, text=tr("transfer.preparing"))
    else:
        eta = "–" if not math.isfinite(p["eta_s"]) else f"{p['eta_s']:.0f} s"
        text = tr("transfer.progress_done" if j.done else "transfer.progress", status=tr(f"status.{j.status}"),
                  epoch=p["epoch"], epochs=p["epochs"], elapsed=p["elapsed_s"], eta=eta)
        st.progress(min(1.0, p["fraction"]), text=text)
    st.plotly_chart(transfer_curves_figure(j.lanes(), lang=lang()), key="tl.curves")
    for strategy, status in j.lane_status().items():
        if status == "diverged":
            st.caption(tr("transfer.lane_diverged", strategy=tr(f"transfer.strategy_{strategy}")))
    if active and j.done:
        st.rerun()  # one full rerun: buttons unlock and the results appear


live_panel()
if job is not None and job.done:
    transfer_results.show(job)
