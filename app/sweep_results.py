"""The Sweep page's results, once a sweep has ended: the heat map, the parallel-coordinates plot and the table
sorted by best validation accuracy, each trial with a link that opens it on the Train page."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from app import present
from app.state import lang, tr
from labcore import links
from labcore.i18n import DEFAULT_LANG
from labcore.sweep import SweepJob
from labcore.viz.sweep import heatmap_figure, parcoords_figure

K = "sw."


def train_link(row) -> str:
    """The Train page's relative URL for this trial's setup, written with the Train page's own link schema (see
    labcore.sweep.space.train_query), and the tab's language and presentation mode."""
    carried = {"lang": lang()} if lang() != DEFAULT_LANG else {}
    carried |= {"present": "1"} if present.presenting() else {}
    return "train?" + urlencode({**links.write("train", links.train_values(row.config)), **carried})


def results(job: SweepJob | None) -> None:
    if job is None or not job.done:
        return
    rows = [r for r in job.rows() if r.best == r.best]
    if not rows:
        return
    best = max(rows, key=lambda r: (r.best, -r.trial.index))
    st.success(tr("sweep.best", label=best.trial.label(), acc=f"{best.best:.1%}", epochs=best.epochs),
               icon=":material/emoji_events:")
    left, right = st.columns([2, 3])
    with left:
        st.subheader(tr("sweep.heatmap_title"))
        st.plotly_chart(heatmap_figure(rows, lang=lang()), key=K + "fig.heatmap")
        st.caption(tr("sweep.heatmap_caption"))
    with right:
        st.subheader(tr("sweep.parcoords_title"))
        st.plotly_chart(parcoords_figure(rows, lang=lang()), key=K + "fig.parcoords")
        st.caption(tr("sweep.parcoords_caption"))
    st.subheader(tr("sweep.table_title"))
    ranked = sorted(job.rows(), key=lambda r: (-(r.best if r.best == r.best else -1.0), r.trial.index))
    table = pd.DataFrame([{
        tr("sweep.col_trial"): r.trial.index + 1, tr("sweep.col_lr"): r.trial.lr,
        tr("sweep.col_batch"): r.trial.batch_size, tr("sweep.col_optim"): tr(f"optimizers.{r.trial.optimizer}"),
        tr("sweep.col_width"): r.trial.width, tr("sweep.col_epochs"): r.epochs,
        tr("sweep.col_best"): None if r.best != r.best else 100 * r.best,
        tr("sweep.col_state"): tr(f"sweep.state_{r.state}"), tr("sweep.col_seconds"): r.seconds,
        tr("sweep.col_open"): train_link(r)} for r in ranked])
    st.dataframe(table, hide_index=True, key=K + "table", column_config={
        tr("sweep.col_lr"): st.column_config.NumberColumn(format="%g"),
        tr("sweep.col_best"): st.column_config.NumberColumn(format="%.1f %%"),
        tr("sweep.col_seconds"): st.column_config.NumberColumn(format="%.2f s"),
        tr("sweep.col_open"): st.column_config.LinkColumn(display_text=tr("sweep.open"))})
    st.caption(tr("sweep.table_caption"))
