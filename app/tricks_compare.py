"""The Training tricks page's "Comparisons" tab (issue 12): a classic experiment per click. Each comparison is an
optimizer race (a `RaceJob` in the shared registry, like the Race page's), drawn live with the Race page's
figure; when it ends, a verdict computed from its numbers (labcore.tricks.compare)."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from app import tricks_ensemble, tricks_rotation
from app.state import current_job, lang, start_job, tr
from app.widgets import polling_fragment, waiting_notice
from labcore.train.race import RaceJob
from labcore.tricks import compare as cm
from labcore.tricks import scaling
from labcore.viz.race import race_figure

K = "tk."
JOB_KEY, NAME_KEY, ERROR_KEY = K + "cmp.job", K + "cmp.name", K + "cmp.error"
RAN_KEY = K + "cmp.ran"  # the race config of the run shown (data_size: a run at another share is not this one's)
FRACTION_KEY = K + "cmp.fraction"
POLL_SECONDS = 0.5
ss = st.session_state


def _start(c: cm.Comparison) -> None:
    if start_job(c.race, JOB_KEY, ERROR_KEY, RaceJob) is not None:
        ss[NAME_KEY], ss[RAN_KEY] = c.name, c.race


def _setup(c: cm.Comparison) -> str:
    m, train = c.race.model, c.race.train
    return tr("tricks.cmp.setup_cnn" if m.name == "cnn" else "tricks.cmp.setup", data=tr(f"datasets.{c.race.data.name}"),
              depth=m.depth, width=m.width, epochs=train.epochs, batch=train.batch_size, seed=train.seed,
              names=", ".join(cm.labels(c, lang())))


def panel() -> None:
    st.markdown(tr("tricks.cmp.intro"))
    name = st.selectbox(tr("tricks.cmp.select"), cm.COMPARISONS, key=K + "compare",
                        format_func=lambda n: tr(f"tricks.cmp.name_{n}"))
    fraction = cm.SMALLEST
    if name == "data_size":  # the smallest share of the training set: the slider moves the whole ladder
        fraction = st.select_slider(tr("tricks.cmp.fraction"), cm.FRACTIONS, key=FRACTION_KEY,
                                    format_func=lambda f: f"{100 * f:g} %", help=tr("tricks.cmp.fraction_help"))
    c = cm.comparison(name, fraction)
    st.info(tr(f"tricks.cmp.about_{name}"), icon=":material/visibility:")
    st.caption(_setup(c))
    job = current_job(JOB_KEY)
    active = job is not None and not job.done
    st.button(tr("tricks.cmp.start"), type="primary", on_click=_start, args=(c,), disabled=active,
              key=K + "cmp.start", icon=":material/sports_score:")
    if ERROR_KEY in ss:
        st.warning(ss[ERROR_KEY])
    # a run of another comparison (or of this one at another share of the data) is not this one's
    mine = job is not None and ss.get(NAME_KEY) == name and ss.get(RAN_KEY, c.race) == c.race
    _live(c, active and mine)
    if name == "scaling":  # next to the curves: how far apart the raw features are
        _ranges(c)
    if mine and job.done:
        _result(c, job)


def _live(c: cm.Comparison, active: bool) -> None:
    names = cm.labels(c, lang())

    @polling_fragment(POLL_SECONDS if active else None)
    def live() -> None:
        j = current_job(JOB_KEY) if ss.get(NAME_KEY) == c.name and ss.get(RAN_KEY, c.race) == c.race else None
        if j is None or waiting_notice(j):
            st.plotly_chart(race_figure([], names, lang=lang()), key=K + "fig.cmp")
            return
        p = j.progress()
        eta = "–" if not math.isfinite(p["eta_s"]) else f"{p['eta_s']:.0f} s"
        st.progress(min(1.0, p["fraction"]), text=tr("race.progress_done" if j.done else "race.progress",
                                                     status=tr(f"status.{j.status}"), epoch=p["epoch"],
                                                     epochs=p["epochs"], elapsed=p["elapsed_s"], eta=eta))
        standings = j.standings()
        fig = race_figure(standings, names, lang=lang())
        if c.name == "capacity" and j.done:
            cm.mark_turns(fig, standings, lang())
        st.plotly_chart(fig, key=K + "fig.cmp")
        if c.name == "capacity" and j.done:
            st.caption(tr("tricks.cmp.turn_caption"))
        if c.name == "clipping":
            st.plotly_chart(cm.grad_norm_figure(standings, names, clip=cm.CLIP, lang=lang()), key=K + "fig.cmp_grad")
            st.caption(tr("tricks.cmp.grad_caption"))
        if active and j.done:
            st.rerun()  # one full rerun: the button unlocks and the verdict appears

    live()


@st.cache_data(show_spinner=False, max_entries=4)
def _feature_ranges(data) -> dict:
    return scaling.feature_ranges(data)


def _ranges(c: cm.Comparison) -> None:
    r = _feature_ranges(c.race.data)
    st.markdown(f"**{tr('tricks.cmp.ranges_title')}**")
    st.plotly_chart(scaling.ranges_figure(r, lang=lang()), key=K + "fig.ranges")
    typical = r["mean"]
    st.caption(tr("tricks.cmp.ranges_caption", n=len(typical), lo=f"{typical.min():.2g}", hi=f"{typical.max():,.0f}",
                  top=f"{r['max'].max():,.0f}", ratio=f"{float(f'{typical.max() / typical.min():.2g}'):,.0f}"))


def _result(c: cm.Comparison, job) -> None:
    if job.status == "stopped":
        st.info(tr("tricks.cmp.stopped"), icon=":material/stop_circle:")
        return
    if job.error is not None and job.status == "failed":
        st.error(job.error.message(lang()))
        return
    standings = job.standings()
    st.subheader(tr("tricks.cmp.verdict_title"))
    st.success(cm.verdict(c, standings, lang(), race=job.race), icon=":material/fact_check:")
    if c.name == "regularisation" and any(s.epochs for s in standings):
        _gap_table(cm.regularisation_rows(c, standings, lang()))
        st.caption(tr("tricks.cmp.table_caption", patience=cm.PATIENCE))
    if c.name == "data_size" and any(s.epochs for s in standings):
        _gap_table(cm.size_rows(c, standings, lang()), examples=True)
        st.caption(tr("tricks.cmp.size_caption"))
    if c.name == "ensemble" and job.race is not None:
        tricks_ensemble.section(c, job.race)
    if c.name == "rotation" and job.race is not None:
        tricks_rotation.section(c, job.race)


def _gap_table(rows: list[dict], examples: bool = False) -> None:
    """Train and validation accuracy per contender and the gap between them (with the training-set size)."""
    columns = {tr("tricks.cmp.col_name"): [r["name"] for r in rows]}
    if examples:
        columns[tr("tricks.cmp.col_examples")] = [r["n"] for r in rows]
    columns |= {tr("tricks.cmp.col_train"): [r["train"] for r in rows], tr("tricks.cmp.col_val"): [r["val"] for r in rows],
                tr("tricks.cmp.col_gap"): [100 * r["gap"] for r in rows]}
    st.dataframe(pd.DataFrame(columns), hide_index=True, width="stretch", column_config={
        tr("tricks.cmp.col_train"): st.column_config.NumberColumn(format="percent"),
        tr("tricks.cmp.col_val"): st.column_config.NumberColumn(format="percent"),
        tr("tricks.cmp.col_gap"): st.column_config.NumberColumn(format="%.1f"),
    })
