"""The deep-vs-classic tab's explanations (lessons 15 and 22), below its table: SHAP values of the MLP's class
probabilities (a beeswarm over the explained test rows, a waterfall for one row), and the correlated-features demo
(an exact copy of one column, permutation importance before and after). Numbers from
labcore.evaluation.explanations; figures from labcore.viz.explain (the Explain page's beeswarm and waterfall) and
labcore.viz.twins. The widgets are drawn on every run, so a link sets them even while the tab is closed; the work
runs, as engine tasks, only when the tab is open and its switch is on."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app.state import lang, tr
from app.tasks import background
from labcore.data import dataset_info
from labcore.evaluation import explanations as ex
from labcore.evaluation.models import BINARY, load_split
from labcore.viz.explain import beeswarm_figure, waterfall_figure
from labcore.viz.twins import twins_figure

K = "ev."
ss = st.session_state


def shap_task(name: str, progress=None) -> ex.ProbabilityShap:
    """~1 s for 60 rows (the first call in a process adds ~4 s of numba compilation)."""
    split = load_split(name)
    return ex.shap_values(split, rows=ex.explained_rows(name), progress=progress)


def twins_task(name: str, feature: str, progress=None) -> list[ex.TwinImportance]:
    """Four fits and four permutation importances: ~2 s on wine, ~4 s on breast cancer."""
    return ex.twin_importance(load_split(name), feature, progress=progress)


def _class(data: str, name: str) -> str:
    return tr(f"evaluation.class.{name}") if data == BINARY else name


def _keep_valid(key: str, options, default) -> None:
    """A value left from another table (a class or column it does not have) goes back to the default."""
    if ss.get(key) not in options:
        ss[key] = default


def panel(name: str, open_: bool) -> None:
    _shap(name, open_)
    _twins(name, open_)


def _shap(name: str, open_: bool) -> None:
    st.subheader(tr("evaluation.explain.shap_title"))
    rows = ex.explained_rows(name)
    st.markdown(tr("evaluation.explain.shap_intro", rows=rows, bg=ex.BACKGROUND))
    info = dataset_info(name)
    classes = list(info.class_names)
    _keep_valid(K + "shap.class", classes, classes[info.positive or 0])
    if not 0 <= ss.get(K + "shap.row", 0) < rows:
        ss[K + "shap.row"] = 0
    c1, c2, c3 = st.columns([2, 2, 3], vertical_alignment="bottom")
    on = c1.toggle(tr("evaluation.explain.shap_on"), key=K + "shap")
    chosen = c2.selectbox(tr("evaluation.explain.shap_class"), classes, key=K + "shap.class",
                          format_func=lambda c: _class(name, c))
    row = c3.slider(tr("evaluation.explain.shap_row"), 0, rows - 1, step=1, key=K + "shap.row")
    if not (open_ and on):
        return
    sv = background(("evaluation.shap", name), tr("evaluation.explain.computing_shap"), shap_task, name)
    if sv is None:  # still computing (a progress bar is drawn), or failed (the error is shown)
        return
    k, label = classes.index(chosen), _class(name, chosen)
    names = list(ex.columns(name, lang()))
    left, right = st.columns(2)
    left.plotly_chart(beeswarm_figure(sv.values[..., k], sv.x, names, lang=lang()), key=K + "fig.beeswarm")
    output = tr("evaluation.explain.output", name=label)
    right.plotly_chart(waterfall_figure(sv.values[row, :, k], float(sv.base[k]), names, sv.x[row], lang=lang(),
                                        output=output), key=K + "fig.waterfall")
    p, pred = float(sv.outputs[row, k]), int(np.argmax(sv.outputs[row]))
    right.markdown(tr("evaluation.explain.row_summary", row=row, truth=_class(name, classes[int(sv.y[row])]),
                      name=label, p=f"{p:.3f}", base=f"{sv.base[k]:.3f}", pred=_class(name, classes[pred])))
    total = float(sv.base[k] + sv.values[row, :, k].sum())
    st.caption(tr("evaluation.explain.shap_caption", total=f"{total:.4f}", p=f"{p:.4f}", gap=f"{abs(total - p):.1e}",
                  evals=ex.MAX_EVALS, bg=ex.BACKGROUND, s=f"{sv.seconds:.1f}"))


def _twins(name: str, open_: bool) -> None:
    st.subheader(tr("evaluation.explain.twins_title"))
    st.markdown(tr("evaluation.explain.twins_intro"))
    if name not in ex.TWIN_DATASETS:
        st.info(tr("evaluation.explain.twins_only"))
        return
    columns = ex.columns(name)
    _keep_valid(K + "twin.feature", columns, ex.STRONGEST[name])
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    feature = c1.selectbox(tr("evaluation.explain.twin_feature"), columns, key=K + "twin.feature",
                           help=tr("evaluation.explain.twin_feature_help", name=ex.STRONGEST[name]))
    on = c2.toggle(tr("evaluation.explain.twin_on"), key=K + "twin")
    if not (open_ and on):
        return
    results = background(("evaluation.twins", name, feature), tr("evaluation.explain.computing_twins"), twins_task,
                         name, feature)
    if results is None:  # still computing (a progress bar is drawn), or failed (the error is shown)
        return
    models = [tr(f"evaluation.model.{r.model}") for r in results]
    st.plotly_chart(twins_figure(results, models, feature, lang=lang()), key=K + "fig.twins")
    for r, model in zip(results, models, strict=True):
        one, two = r.twins
        verdict = "split" if max(one, two) < r.alone else "no_split"
        text = tr(f"evaluation.explain.twins_{verdict}", model=model, name=feature, alone=f"{r.alone:.4f}",
                  sd=f"{r.before_std[r.feature]:.4f}", one=f"{one:.4f}", two=f"{two:.4f}", total=f"{one + two:.4f}",
                  acc0=f"{r.accuracy_before:.1%}", acc1=f"{r.accuracy_after:.1%}")
        best = columns[int(np.argmax(r.before_mean))]  # this model's strongest column: where a split shows best
        if verdict == "no_split" and best != feature:
            text += " " + tr("evaluation.explain.twins_try", model=model, best=best)
        st.markdown(text)
    st.caption(tr("evaluation.explain.twins_caption", repeats=ex.TWIN_REPEATS, n=len(load_split(name).y_test)))
