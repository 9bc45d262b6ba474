"""The Training tricks page's "ensemble" comparison, after the race: each member's and the averaged decision
boundary side by side, and a table of validation accuracy and log loss per member, their mean and the ensemble
(labcore.tricks.ensemble)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.state import lang, tr
from labcore.train.race import Race
from labcore.tricks import compare as cm
from labcore.tricks import ensemble as ens
from labcore.viz.points import decision_boundary_figure

K = "tk.ens."
COLUMNS = 3
HEIGHT = 300


def section(c: cm.Comparison, race: Race) -> None:
    data = race.data
    members, mean, whole = cm.ensemble_table(race)
    names = cm.labels(c, lang())
    rows = [(n, m.acc, m.loss) for n, m in zip(names, members, strict=True)]
    rows += [(tr("tricks.cmp.ens_mean"), mean.acc, mean.loss), (tr("tricks.cmp.ens_average"), whole.acc, whole.loss)]
    acc_col, loss_col = tr("tricks.cmp.col_val"), tr("tricks.cmp.col_log_loss")
    frame = pd.DataFrame({tr("tricks.cmp.col_name"): [r[0] for r in rows], acc_col: [r[1] for r in rows],
                          loss_col: [r[2] for r in rows]})
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        acc_col: st.column_config.NumberColumn(format="percent"), loss_col: st.column_config.NumberColumn(format="%.3f")})
    st.caption(tr("tricks.cmp.ens_table_caption", n=len(data.y_val)))
    st.subheader(tr("tricks.cmp.ens_boundaries"))
    points = np.concatenate([data.x_train.numpy(), data.x_val.numpy()])
    xx, yy, inputs = ens.grid(points)
    probs = cm.ensemble_probs(race, inputs)
    shape = (len(yy), len(xx), -1)
    panels = [(n, p) for n, p in zip(names, probs, strict=True)] + [(tr("tricks.cmp.ens_average"), ens.average(probs))]
    x_val, y_val = data.x_val.numpy(), data.y_val.numpy()
    for start in range(0, len(panels), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, (i, (title, p)) in zip(cols, enumerate(panels[start:start + COLUMNS], start=start), strict=False):
            col.markdown(f"**{title}**")
            fig = decision_boundary_figure(xx, yy, p.reshape(shape), x_val, y_val, data.class_names, lang=lang(),
                                           height=HEIGHT)
            fig.update_layout(showlegend=False, margin={"l": 10, "r": 10, "t": 10, "b": 10})
            col.plotly_chart(fig, key=f"{K}fig.{i}")
    st.caption(tr("tricks.cmp.ens_boundaries_caption", share=f"{100 * ens.disagreement(probs):.0f} %"))
