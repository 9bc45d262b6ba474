"""The Beyond classification page's Segmentation and Detection tabs: set up, train as an engine job with live
curves, then the test set's masks or boxes; the Detection tab ends with non-maximum suppression."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import export_panel
from app.compare import job_buttons, live_panel
from app.state import current_job, lang, tr
from app.widgets import waiting_notice
from labcore.beyond import figures, nms
from labcore.beyond import train as bt
from labcore.data.shapes import SHAPE_NAMES

K = "by."
TAB = {"segment": "seg", "detect": "det"}
GALLERY = 8


def _names() -> list[str]:
    return [tr(f"beyond.shape_{n}") for n in SHAPE_NAMES]


def _setup(task: str) -> bt.BeyondConfig:
    p = K + TAB[task] + "."
    c = st.columns([2, 1.4, 1, 1.2], vertical_alignment="bottom")
    lo, hi, step = bt.EPOCHS
    epochs = c[0].slider(tr("beyond.epochs"), lo, hi, step=step, key=p + "epochs")
    n = c[1].select_slider(tr("beyond.train_images"), bt.TRAIN_SIZES, key=p + "train")
    lo, hi, step = bt.SEEDS
    seed = c[2].number_input(tr("beyond.seed"), lo, hi, step=step, key=p + "seed")
    skips = True
    if task == "segment":
        skips = c[3].toggle(tr("beyond.skips"), key=p + "skips", help=tr("beyond.skips_help"))
    return bt.BeyondConfig(task=task, epochs=int(epochs), n_train=int(n), seed=int(seed), skips=bool(skips))


def _live(task: str, job: bt.BeyondJob | None) -> None:
    if job is None:
        st.info(tr("beyond.press_train"), icon=":material/play_arrow:")
        return
    if not waiting_notice(job):
        p = job.progress()
        st.progress(1.0 if job.done else p.fraction, text=tr("beyond.progress", status=tr(f"status.{job.status}"),
                                                            epoch=p.epoch, epochs=p.epochs, seconds=p.elapsed_s))
    scores = job.scores()
    if scores:
        st.plotly_chart(figures.curves_figure(scores, task, job.config.epochs, lang=lang()), key=f"{K}fig.{task}.curves")


def _order(out: bt.Outcome, worst: bool) -> np.ndarray:
    return np.argsort(out.iou, kind="stable")[:GALLERY] if worst else np.arange(GALLERY)


def _results(task: str, job: bt.BeyondJob) -> None:
    out: bt.Outcome = job.result
    last = out.last
    if job.status == "stopped":
        st.info(tr("beyond.stopped", epochs=out.epochs), icon=":material/stop:")
    c = st.columns(4)
    if task == "segment":
        c[0].metric(tr("beyond.mean_iou"), f"{last.iou:.3f}")
        c[1].metric(tr("beyond.mean_dice"), f"{last.dice:.3f}")
        st.caption(tr("beyond.seg_result", n=len(out.iou), iou=last.iou, dice=last.dice, epochs=out.epochs,
                      seconds=out.seconds))
    else:
        c[0].metric(tr("beyond.box_iou"), f"{last.iou:.3f}")
        c[1].metric(tr("beyond.accuracy"), f"{last.accuracy:.0%}")
        c[2].metric(tr("beyond.hits"), f"{last.hits:.0%}")
        st.caption(tr("beyond.det_result", n=len(out.iou), iou=last.iou, acc=last.accuracy, hits=last.hits,
                      epochs=out.epochs, seconds=out.seconds, cls=last.cls_loss, box=last.box_loss))
    c[3].metric(tr("beyond.seconds"), f"{out.seconds:.1f} s")
    worst = st.toggle(tr("beyond.worst"), key=K + TAB[task] + ".worst")
    order = _order(out, worst)
    if task == "segment":
        st.plotly_chart(figures.gallery_figure(out, order, _names(), lang=lang()), key=K + "fig.gallery")
        st.caption(tr("beyond.gallery_caption"))
    else:
        st.plotly_chart(figures.boxes_figure(out, order, _names(), lang=lang()), key=K + "fig.boxes")
        st.caption(tr("beyond.boxes_caption"))


def _nms() -> None:
    st.subheader(tr("beyond.nms_title"))
    st.markdown(tr("beyond.nms_intro"))
    c = st.columns(2)
    iou = c[0].select_slider(tr("beyond.nms_iou"), nms.IOU_THRESHOLDS, key=K + "nms.iou", help=tr("beyond.nms_iou_help"))
    score = c[1].select_slider(tr("beyond.nms_score"), nms.SCORE_THRESHOLDS, key=K + "nms.score")
    r = nms.run_nms(iou, score)
    st.plotly_chart(figures.nms_figure(r, score, lang=lang()), key=K + "fig.nms")
    found = int(r.found.sum())
    st.markdown(tr("beyond.nms_result", n=len(r.boxes), kept=len(r.kept), found=found, objects=len(r.found),
                   duplicates=r.duplicates, strays=r.strays))
    if found < len(r.found):
        st.warning(tr("beyond.nms_lost"), icon=":material/visibility_off:")
    elif r.duplicates:
        st.warning(tr("beyond.nms_duplicates"), icon=":material/content_copy:")


def panel(task: str) -> None:
    st.markdown(tr(f"beyond.{task}_intro"))
    cfg = _setup(task)
    job_key = f"{K}job.{task}"
    job_buttons(cfg, job_key, tr("beyond.train"), bt.BeyondJob)
    live_panel(job_key, lambda j: _live(task, j))
    job = current_job(job_key)
    if job is not None and job.done:
        if job.error is not None:
            st.error(job.error.message(lang()), icon=":material/error:")
        elif job.result is not None:
            _results(task, job)
            export_panel.beyond(job, f"{K}{TAB[task]}.export")
    if task == "detect":
        _nms()
