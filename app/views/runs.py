"""Runs (issue 17): the run history. Every finished run of the Train, Optimizer race, Transfer, Sequences and
Autoencoders pages is recorded in an MLflow store (labcore.tracking); this page lists them with filters, overlays
the curves of the runs picked, compares their setups side by side (differences highlighted), deletes runs and
reopens a run's setup on the page it came from.

Every widget's key is "rn." + its link param; the picked runs ("rn.selected") are not in the link (run ids belong
to one store).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from app import links, present
from app.state import lang, tr
from labcore import tracking
from labcore.autoencoders import AUTOENCODERS
from labcore.data import DATASETS
from labcore.i18n import DEFAULT_LANG
from labcore.links import RUN_LIMIT, runs_names
from labcore.links import runs as run_params
from labcore.models import MODELS
from labcore.presets import page_script
from labcore.viz.runs import runs_figure

K = "rn."
SELECTED = K + "selected"
METRICS = ("val_loss", "val_acc", "loss", "acc")
FILTERS = {"pages": "nav", "data": "datasets", "model": "models", "optim": "optimizers"}  # link param -> names' section
HIGHLIGHT = "background-color: rgba(242, 142, 43, 0.25)"  # the palette's orange, see-through on light and dark
ss = st.session_state


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _label(run: tracking.RunSummary) -> str:
    lr = f" · lr {run.lr:g}" if run.lr is not None else ""
    return f"{_date(run.start_ms)[5:16]} · {run.model} · {run.dataset} · {run.optimizer}{lr}"


def _named(section: str, name: str) -> str:
    """A page, dataset or model by its name in the catalogue (transfer targets and backbones, autoencoders too)."""
    if section == "nav":
        return tr(f"nav.{name}" if name in ("train", "race") else f"{name}.nav")
    if section == "datasets" and name not in DATASETS:
        return tr(f"transfer.target_{name}")
    if section == "models" and name not in MODELS:
        return tr(f"autoencoders.model_{name}" if name in AUTOENCODERS else f"transfer.backbone_{name}")
    return tr(f"{section}.{name}")


def _filters() -> tuple[dict[str, list[str]], int]:
    cols = st.columns(5)
    picked = {}
    for col, (name, section) in zip(cols, FILTERS.items(), strict=False):
        choices = next(p.choices for p in run_params({}) if p.name == name)
        picked[name] = col.multiselect(tr(f"runs.filter_{name}"), choices, key=K + name, placeholder=tr("runs.all"),
                                       format_func=lambda n, s=section: _named(s, n))
    lo, hi, step = RUN_LIMIT
    limit = cols[-1].number_input(tr("runs.limit"), lo, hi, step=step, key=K + "limit")
    return picked, int(limit)


def _table(shown: list[tracking.RunSummary]) -> None:
    rows = [{tr("runs.col_date"): _date(r.start_ms),
             tr("runs.col_page"): _named("nav", r.page) if r.page in tracking.PAGES else r.page,
             tr("runs.col_dataset"): r.dataset, tr("runs.col_model"): r.model, tr("runs.col_optimizer"): r.optimizer,
             tr("runs.col_lr"): r.lr, tr("runs.col_epochs"): r.epochs,
             tr("runs.col_accuracy"): None if r.test_accuracy is None else 100 * r.test_accuracy,
             tr("runs.col_status"): tr(f"runs.status_{r.status}") if r.status in tracking.STATUS else r.status}
            for r in shown]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key=K + "table", column_config={
        tr("runs.col_lr"): st.column_config.NumberColumn(format="%g"),
        tr("runs.col_accuracy"): st.column_config.NumberColumn(format="%.1f %%")})


def _curves(rec: tracking.Recorder, picked: list[tracking.RunSummary]) -> None:
    st.subheader(tr("runs.curves_title"))
    metric = st.segmented_control(tr("runs.metric"), METRICS, key=K + "metric", required=True, default=METRICS[0],
                                  format_func=lambda m: tr(f"runs.metric_{m}"))
    series = [(f"{i + 1}. {_label(r)}", rec.history(r.run_id, metric)) for i, r in enumerate(picked)]
    st.plotly_chart(runs_figure(series, tr(f"runs.metric_{metric}"), lang=lang()), key=K + "fig.curves")


def _compare(picked: list[tracking.RunSummary]) -> None:
    st.subheader(tr("runs.compare_title"))
    configs = [r.params for r in picked]
    differ = set(tracking.differing(configs))
    only = st.toggle(tr("runs.only_differences"), key=K + "only_diff")
    names = sorted(differ if only else {k for c in configs for k in c})
    table = pd.DataFrame({f"{i + 1}. {_label(r)}": [r.params.get(n, "") for n in names] for i, r in enumerate(picked)},
                         index=pd.Index(names, name=tr("runs.param")))
    table.insert(0, tr("runs.differs"), [n in differ for n in names])
    styled = table.style.apply(lambda row: [HIGHLIGHT if row.name in differ else ""] * len(row), axis=1)
    st.dataframe(styled, key=K + "compare", column_config={
        tr("runs.differs"): st.column_config.CheckboxColumn(width="small")})
    st.caption(tr("runs.compare_caption", n=len(differ)))


def _delete(rec: tracking.Recorder) -> None:
    try:
        ss[K + "deleted"] = rec.delete(ss.get(SELECTED, []))
    except tracking.StoreError as e:
        ss[K + "error"] = str(e)
    ss[SELECTED] = []


def _actions(rec: tracking.Recorder, picked: list[tracking.RunSummary]) -> None:
    carried = {"lang": lang()} if lang() != DEFAULT_LANG else {}
    carried |= {"present": "1"} if present.presenting() else {}
    for i, r in enumerate(picked):
        link = tracking.link_of(r) if r.page != "race" else None  # a race contender is one lane of a race
        if link is None:
            continue
        page, query = link
        name = f"{i + 1}. {_label(r)}"
        label = tr("runs.open", name=name) if page == "train" else tr("runs.open_on", page=_named("nav", page), name=name)
        st.page_link(page_script(page), label=label, icon=":material/open_in_new:", query_params={**query, **carried})
    with st.popover(tr("runs.delete", n=len(picked)), icon=":material/delete:"):
        st.markdown(tr("runs.delete_confirm", n=len(picked)))
        st.button(tr("runs.delete_yes", n=len(picked)), key=K + "delete", type="primary", on_click=_delete, args=(rec,))


def _history() -> None:
    filters, limit = _filters()  # drawn in every case: they are the page's link
    if not tracking.available():
        st.info(tr("runs.no_mlflow", extra=tracking.EXTRA), icon=":material/extension:")
        return
    if tracking.switched_off():
        st.info(tr("runs.off"), icon=":material/pause_circle:")
        return
    rec = tracking.shared()
    if ss.get(K + "deleted") is not None:  # the Delete button's callback left its outcome for this run
        st.success(tr("runs.deleted", n=ss.pop(K + "deleted")))
    if ss.get(K + "error"):
        st.error(tr("runs.store_error", error=ss.pop(K + "error")))
    try:
        runs = rec.runs()
    except tracking.StoreError as e:
        st.error(tr("runs.store_error", error=str(e)))
        return
    if not runs:
        st.info(tr("runs.empty"), icon=":material/history:")
        st.caption(tr("runs.mlflow_ui", command=tracking.ui_command(rec.uri)))
        return
    shown = [r for r in runs if tracking.matches(r, pages=filters["pages"], datasets=filters["data"],
                                                 models=filters["model"], optimizers=filters["optim"])][:limit]
    if not shown:
        st.info(tr("runs.none_match", total=len(runs)))
        return
    st.caption(tr("runs.count", n=len(shown), total=len(runs)))
    _table(shown)
    by_id = {r.run_id: r for r in shown}
    ss[SELECTED] = [i for i in ss.get(SELECTED, []) if i in by_id]  # a deleted or filtered-out run leaves the pick
    chosen = st.multiselect(tr("runs.select"), list(by_id), key=SELECTED, placeholder=tr("runs.select_hint"),
                            format_func=lambda i: _label(by_id[i]))
    picked = [by_id[i] for i in chosen]
    if picked:
        try:
            _curves(rec, picked)
        except tracking.StoreError as e:
            st.error(tr("runs.store_error", error=str(e)))
        _compare(picked)
        _actions(rec, picked)
    st.caption(tr("runs.mlflow_ui", command=tracking.ui_command(rec.uri)))


links.setup(links.PageLink("runs", keys={name: K + name for name in runs_names()}))
st.title(tr("runs.title"))
st.caption(tr("runs.intro"))
_history()
