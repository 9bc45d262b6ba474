"""Result panels shared by pages: test metrics, confusion matrix, per-class scores, ROC, prediction gallery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.state import lang, tr
from labcore.metrics import classification_report
from labcore.train.job import Outcome, TrainingJob
from labcore.viz import (
    confusion_matrix_figure,
    decision_boundary_figure,
    image_grid_figure,
    per_class_figure,
    roc_figure,
)

GALLERY_SIZE = 24


def boundary(job: TrainingJob) -> None:
    """Live decision boundary of a 2-D toy: how the model carves up the plane, epoch by epoch."""
    xx, yy, probs = job.boundary
    data = job.trainer.data
    st.plotly_chart(decision_boundary_figure(xx, yy, probs, data.x_train.numpy(), data.y_train.numpy(),
                                             data.class_names, lang=lang()), key="boundary")


def show(job: TrainingJob) -> None:
    status = job.status
    if status == "diverged":
        st.warning(job.error.message(lang()), icon=":material/trending_up:")
    elif status == "failed":
        st.error(job.error.message(lang()), icon=":material/error:")
    elif status == "stopped":
        st.info(tr("train.stopped_note"), icon=":material/stop_circle:")
    out = job.outcome
    if out is None:
        return
    if status == "finished":
        st.success(tr("train.finished_note", acc=out.test_accuracy), icon=":material/check_circle:")
    p = job.progress()
    _, epochs = job.snapshot()
    c = st.columns(5)
    c[0].metric(tr("results.test_accuracy"), f"{out.test_accuracy:.1%}")
    c[1].metric(tr("results.test_loss"), f"{out.test_loss:.3f}")
    c[2].metric(tr("results.val_accuracy"), f"{epochs[-1]['val_acc']:.1%}" if epochs else "–")
    c[3].metric(tr("results.best_epoch"), f"{out.best_epoch} / {len(epochs)}")
    c[4].metric(tr("results.time"), f"{p['elapsed_s']:.1f} s")
    st.caption(weights_note(out, len(epochs)))

    data = job.trainer.data
    tabs = st.tabs([tr("results.tab_confusion"), tr("results.tab_per_class"), tr("results.tab_roc"),
                    tr("results.tab_gallery")])
    with tabs[0]:
        normalise = st.segmented_control(tr("results.cm_mode"), ["counts", "normalised"], default="counts",
                                         format_func=lambda m: tr(f"results.cm_{m}"), key="cm_mode")
        st.plotly_chart(confusion_matrix_figure(out.report.confusion, data.class_names,
                                                normalize=normalise == "normalised", lang=lang()), key="cm")
        st.caption(tr("results.cm_help"))
    with tabs[1]:
        table = out.report.per_class.rename(columns={k: tr(f"metrics.{k}") for k in out.report.per_class.columns})
        left, right = st.columns([2, 3])
        left.dataframe(table.style.format(precision=3), width="stretch")
        right.plotly_chart(per_class_figure(out.report, lang=lang()), key="per_class")
    with tabs[2]:
        report = out.report
        if data.num_classes == 2:
            report = _positive_class_report(out, data)
        st.plotly_chart(roc_figure(report, lang=lang()), key="roc")
        st.caption(tr("results.roc_help_binary" if data.num_classes == 2 else "results.roc_help"))
    with tabs[3]:
        _gallery(job)


def weights_note(out: Outcome, epochs_done: int) -> str:
    """Which weights the test scores belong to: the best epoch's (restored) or those training ended with."""
    if out.stopped_early:
        return tr("results.stopped_early", epoch=out.best_epoch)
    if out.restored_best:
        return tr("results.weights_best", epoch=out.best_epoch)
    if out.best_epoch == epochs_done:
        return tr("results.weights_last_is_best", epoch=epochs_done)
    return tr("results.weights_last", last=epochs_done, best=out.best_epoch)


def _positive_class_report(out: Outcome, data):
    """Two classes draw one ROC curve: the user picks its positive class (the dataset's class of interest first)."""
    default = data.info.positive if data.info.positive is not None else 1
    names = data.class_names
    positive = st.segmented_control(tr("results.roc_positive"), [0, 1], default=default,
                                    format_func=lambda c: names[c], key=f"roc_positive_{data.name}",
                                    help=tr("results.roc_positive_help"))
    positive = default if positive is None else int(positive)
    if list(out.report.roc) == [names[positive]]:  # the job has scored this one already
        return out.report
    return classification_report(out.y_true, out.y_prob, names, positive=positive)


def _gallery(job: TrainingJob) -> None:
    out, data = job.outcome, job.trainer.data
    pred = out.y_prob.argmax(1)
    conf = out.y_prob.max(1)
    which = st.segmented_control(tr("results.gallery_show"), ["wrong", "right", "all"], default="wrong",
                                 format_func=lambda m: tr(f"results.gallery_{m}"), key="gallery_mode")
    wrong = pred != out.y_true
    mask = {"wrong": wrong, "right": ~wrong, "all": np.ones_like(wrong)}[which or "wrong"]
    # Most confident first: confident mistakes teach the most.
    idx = np.flatnonzero(mask)[np.argsort(-conf[mask])][:GALLERY_SIZE]
    st.caption(tr("results.gallery_counts", wrong=int(wrong.sum()), total=len(wrong)))
    if len(idx) == 0:
        st.info(tr("results.gallery_empty"))
        return
    names = data.class_names
    titles = [tr("results.gallery_title", pred=names[pred[i]], conf=conf[i], true=names[out.y_true[i]])
              for i in idx]
    colours = ["#1a7f37" if pred[i] == out.y_true[i] else "#cf222e" for i in idx]
    if data.info.kind == "image":
        x = data.x_test[idx].float()
        x = x / 255 if data.x_test.dtype.is_floating_point is False else x
        st.plotly_chart(image_grid_figure(x.numpy(), titles=titles, title_colors=colours, cols=8, lang=lang()),
                        key="gallery")
    else:
        frame = pd.DataFrame({tr("results.col_true"): [names[out.y_true[i]] for i in idx],
                              tr("results.col_pred"): [names[pred[i]] for i in idx],
                              tr("results.col_conf"): conf[idx]})
        st.dataframe(frame.style.format({tr("results.col_conf"): "{:.1%}"}), hide_index=True)
