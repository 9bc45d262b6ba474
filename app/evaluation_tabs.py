"""The Evaluation page's three tabs (app/views/evaluation.py is the recipe). Every number is labcore.evaluation's
(sklearn.metrics underneath). The MLPs are fitted once per setup and cached (well under a second each); the
deep-vs-classic table (five models, up to a couple of seconds) is an engine task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.state import lang, tr
from app.tasks import background
from labcore.evaluation import baselines, calibration, imbalance, importance, models, thresholds
from labcore.evaluation.models import BINARY, STEPS, load_split, softmax
from labcore.links import EVALUATION_RANGES
from labcore.viz import evaluation as figs
from labcore.viz.classification import confusion_matrix_figure

K = "ev."
TOP_FEATURES = 12  # the importance chart's bars: the features that matter most to either model
ss = st.session_state


@st.cache_data(show_spinner=False, max_entries=16)
def fit(name: str, steps: int = STEPS, decay: float = models.DECAY) -> models.FittedMLP:
    return models.fit_mlp(load_split(name), steps=steps, weight_decay=decay)


def compare(name: str, progress=None) -> list[baselines.Score]:
    """Five models on one table: up to a couple of seconds (digits' boosting), so an engine task (app.tasks)."""
    return baselines.compare(load_split(name), progress=progress)


def _class(name: str) -> str:
    return tr(f"evaluation.class.{name}")


def _slider(name: str, label: str, fmt: str, col=st, **more) -> float:
    lo, hi, step = EVALUATION_RANGES[name]
    return col.slider(label, lo, hi, step=step, key=K + name, format=fmt, **more)


def _pct(x: float) -> str:
    return f"{x:.1%}"


# -- tab 1: one threshold, every number --------------------------------------------------------------------------
def threshold() -> None:
    st.markdown(tr("evaluation.threshold_intro"))
    split = load_split(BINARY)
    left, right = st.columns([1, 2])
    positive = left.segmented_control(tr("evaluation.positive"), list(split.class_names), key=K + "positive",
                                      required=True, format_func=_class)
    t = _slider("threshold", tr("evaluation.threshold"), "%.2f", col=right)
    with st.spinner(tr("evaluation.fitting")):
        fitted = fit(BINARY)
    pos = split.class_names.index(positive)
    neg_name = _class(split.class_names[1 - pos])
    y, scores = thresholds.binary_scores(softmax(fitted.logits_test), split.y_test, pos)
    at = thresholds.at_threshold(y, scores, t)
    cols = st.columns(6)
    for col, key, value in zip(cols, ("precision", "recall", "f1", "balanced_accuracy", "mcc", "accuracy"),
                               (at.precision, at.recall, at.f1, at.balanced_accuracy, at.mcc, at.accuracy), strict=True):
        col.metric(tr(f"evaluation.metric_{key}"), f"{value:.3f}")
    st.markdown(tr("evaluation.counts", tp=at.tp, fp=at.fp, fn=at.fn, tn=at.tn, pos=_class(positive), neg=neg_name))
    if not at.precision_defined:
        st.info(tr("evaluation.no_positive"))
    fig_col, cm_col = st.columns([5, 2])
    fig_col.plotly_chart(figs.curves_figure(thresholds.curves(y, scores), at, lang=lang()), key=K + "fig.curves")
    with cm_col:
        st.plotly_chart(confusion_matrix_figure(at.confusion, [neg_name, _class(positive)], lang=lang()),
                        key=K + "fig.confusion")
    st.plotly_chart(figs.histogram_figure(y, scores, t, (neg_name, _class(positive)), lang=lang()), key=K + "fig.hist")
    unsure = int(((scores > 0.05) & (scores < 0.95)).sum())
    st.markdown(tr("evaluation.spread", k=unsure, n=len(y)))
    st.caption(tr("evaluation.threshold_caption", n=len(y), p=int(y.sum()), pos=_class(positive), steps=STEPS,
                  wd=models.DECAY, s=f"{fitted.seconds:.2f}"))
    _paradox(split, fitted, pos, t)


def _paradox(split: models.Split, fitted: models.FittedMLP, pos: int, t: float) -> None:
    st.subheader(tr("evaluation.paradox_title"))
    st.markdown(tr("evaluation.paradox_intro"))
    share = _slider("prevalence", tr("evaluation.prevalence"), "%d %%")
    logits = np.concatenate([fitted.logits_val, fitted.logits_test])
    y, scores = thresholds.binary_scores(softmax(logits), np.concatenate([split.y_val, split.y_test]), pos)
    p = thresholds.accuracy_paradox(y, scores, t, share / 100)
    st.markdown(tr("evaluation.paradox_subset", n=p.n, p=p.n_positive, share=_pct(p.prevalence),
                   pos=_class(split.class_names[pos])))
    st.plotly_chart(figs.paradox_figure(p, lang=lang()), key=K + "fig.paradox")
    st.markdown(tr("evaluation.paradox_note", acc=_pct(p.always_negative.accuracy), model=_pct(p.model.accuracy),
                   bal=f"{p.always_negative.balanced_accuracy:.2f}", mcc=f"{p.always_negative.mcc:.2f}"))
    _remedies(split, pos, t, share)


@st.cache_data(show_spinner=False, max_entries=64)
def remedies(positive: int, share: int) -> imbalance.RemedyFits:
    """Three MLPs from one start on the rare-positive training subset: a few tenths of a second, cached."""
    return imbalance.fit_remedies(load_split(BINARY), positive, share / 100)


def _remedies(split: models.Split, pos: int, t: float, share: int) -> None:
    """Issue 13: the same rarity in training, and class weights and oversampling against plain training."""
    st.subheader(tr("evaluation.remedies_title"))
    st.markdown(tr("evaluation.remedies_intro"))
    with st.spinner(tr("evaluation.fitting_remedies")):
        fits = remedies(pos, share)
    rows = imbalance.score_remedies(fits, t)
    pos_name, neg_name = _class(split.class_names[pos]), _class(split.class_names[1 - pos])
    recall = tr("evaluation.remedies_col_recall", pos=pos_name)
    cols = (tr("evaluation.col_accuracy"), tr("evaluation.col_balanced"), tr("evaluation.metric_mcc"),
            tr("evaluation.remedies_col_pr_auc"), recall)
    values = {c: [f"{getattr(r, a):.3f}" for r in rows]
              for c, a in zip(cols, ("accuracy", "balanced_accuracy", "mcc", "pr_auc", "recall"), strict=True)}
    methods = [tr(f"evaluation.remedy.{r.method}") for r in rows]
    # a static table (st.table, not st.dataframe): four rows, and the compare tab's data frame stays the page's first
    st.table(pd.DataFrame(values, index=pd.Index(methods, name=tr("evaluation.remedies_col_method"))))
    st.markdown(tr("evaluation.remedies_note"))
    w_neg, w_pos = fits.class_weights
    st.caption(tr("evaluation.remedies_caption", n=fits.n_train, p=fits.n_train_positive, pos=pos_name, neg=neg_name,
                  w0=f"{w_neg:.2f}", w1=f"{w_pos:.2f}", extra=fits.n_oversampled - fits.n_train, total=fits.n_oversampled,
                  steps=STEPS, wd=models.DECAY, s=f"{fits.seconds:.2f}", t=f"{t:.2f}", m=len(fits.y_eval),
                  k=int(fits.y_eval.sum())))


# -- tab 2: calibration ---------------------------------------------------------------------------------------------
def calibration_panel() -> None:
    st.markdown(tr("evaluation.calibration_intro"))
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    name = c1.selectbox(tr("evaluation.data"), models.DATASETS, key=K + "cal.data", format_func=lambda n: tr(f"datasets.{n}"))
    steps = c2.segmented_control(tr("evaluation.steps"), models.STEP_CHOICES, key=K + "cal.steps", required=True)
    bins = c3.select_slider(tr("evaluation.bins"), calibration.BINS, key=K + "cal.bins")
    decay = c4.toggle(tr("evaluation.decay"), key=K + "cal.decay", help=tr("evaluation.decay_help", wd=models.DECAY))
    split = load_split(name)
    with st.spinner(tr("evaluation.fitting")):
        fitted = fit(name, steps, models.DECAY if decay else 0.0)
    cal = calibration.calibrate(fitted.logits_val, split.y_val, fitted.logits_test, split.y_test, bins)
    b, a = cal.before, cal.after
    cols = st.columns(4)
    cols[0].metric(tr("evaluation.temperature"), f"{cal.temperature:.2f}")
    cols[1].metric(tr("evaluation.ece"), f"{a.ece:.3f}", f"{a.ece - b.ece:+.3f}", delta_color="inverse")
    cols[2].metric(tr("evaluation.nll"), f"{a.nll:.3f}", f"{a.nll - b.nll:+.3f}", delta_color="inverse")
    cols[3].metric(tr("evaluation.accuracy"), _pct(a.accuracy_total), f"{a.accuracy_total - b.accuracy_total:+.1%}",
                   delta_color="off")
    lo, hi = calibration.T_RANGE
    if not lo * 1.001 < cal.temperature < hi * 0.999:
        st.warning(tr("evaluation.t_at_bound", t=f"{cal.temperature:g}", n=len(split.y_val)))
    st.plotly_chart(figs.reliability_figure(cal, lang=lang()), key=K + "fig.reliability")
    st.markdown(tr("evaluation.calibration_values", ece0=f"{b.ece:.3f}", ece1=f"{a.ece:.3f}", nll0=f"{b.nll:.3f}",
                   nll1=f"{a.nll:.3f}", acc=_pct(b.accuracy_total), t=f"{cal.temperature:.2f}"))
    st.caption(tr("evaluation.calibration_caption", val=len(split.y_val), test=len(split.y_test)))


# -- tab 3: deep vs classic ---------------------------------------------------------------------------------------
def compare_panel(open_: bool) -> None:
    st.markdown(tr("evaluation.compare_intro"))
    name = st.selectbox(tr("evaluation.data"), models.DATASETS, key=K + "cmp.data",
                        format_func=lambda n: tr(f"datasets.{n}"))
    if not open_:  # the baselines fit only when this tab is open
        return
    scores = background(("evaluation.compare", name), tr("evaluation.fitting_all"), compare, name)
    if scores is None:  # still fitting (a progress bar is drawn), or failed (the error is shown)
        return
    split = load_split(name)
    names = [tr(f"evaluation.model.{s.model}") for s in scores]
    table = pd.DataFrame({tr("evaluation.col_model"): names,
                          tr("evaluation.col_accuracy"): [s.accuracy for s in scores],
                          tr("evaluation.col_balanced"): [s.balanced_accuracy for s in scores],
                          tr("evaluation.col_seconds"): [s.fit_seconds for s in scores]})
    st.dataframe(table, hide_index=True, key=K + "table", column_config={
        tr("evaluation.col_accuracy"): st.column_config.NumberColumn(format="percent"),
        tr("evaluation.col_balanced"): st.column_config.NumberColumn(format="percent"),
        tr("evaluation.col_seconds"): st.column_config.NumberColumn(format="%.3f")})
    st.plotly_chart(figs.compare_figure(scores, names, lang=lang()), key=K + "fig.compare")
    st.caption(tr("evaluation.compare_caption", train=len(split.y_train), test=len(split.y_test),
                  one=_pct(1 / len(split.y_test)), features=split.n_features, steps=STEPS, wd=models.DECAY))
    if name == BINARY:
        _importance(split, scores)


def importances(name: str, best: str, progress=None) -> list[importance.Importance]:
    """Permutation importance of the MLP and of `best` (10 shuffles of each column; up to ~1.5 s): an engine task."""
    split = load_split(name)
    out = [importance.importance(split, "mlp")]
    if progress is not None:
        progress(0.5)
    return [*out, importance.importance(split, best)]


def _importance(split: models.Split, scores: list[baselines.Score]) -> None:
    best = max((s for s in scores if s.model != "mlp"), key=lambda s: s.accuracy).model  # the first on a tie
    st.subheader(tr("evaluation.importance_title"))
    st.markdown(tr("evaluation.importance_intro", model=tr(f"evaluation.model.{best}"), repeats=importance.REPEATS))
    results = background(("evaluation.importance", split.name, best), tr("evaluation.fitting_importance"), importances,
                         split.name, best)
    if results is None:  # still computing (a progress bar is drawn), or failed (the error is shown)
        return
    names = [tr(f"evaluation.model.{r.model}") for r in results]
    st.plotly_chart(figs.importance_figure(results, names, top=TOP_FEATURES, lang=lang()), key=K + "fig.importance")
    st.caption(tr("evaluation.importance_caption", n=len(split.y_test), top=TOP_FEATURES, repeats=importance.REPEATS,
                  mlp=_pct(results[0].accuracy), best=_pct(results[1].accuracy)))
