"""The Evaluation page's regression tab (lesson 5): MAE, MSE, RMSE and R² of a small MLP regressor against the
mean, linear regression and gradient boosting on the diabetes table, the predicted-vs-true and residual plots, and
an outlier slider showing MSE jump far more than MAE. Numbers from labcore.evaluation.regression (sklearn.metrics)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.state import lang, tr
from labcore.evaluation import regression as reg
from labcore.viz import regression as figs

K = "ev.reg."


@st.cache_data(show_spinner=False, max_entries=8)
def fit_all(loss: str) -> dict[str, reg.Fitted]:
    """The three references and the MLP on the same split (all together well under a second)."""
    split = reg.load_split()
    out = {name: reg.fit_classic(name, split) for name in ("mean", "linear", "boosting")}
    return out | {"mlp": reg.fit_mlp(split, loss)}


def _model(name: str) -> str:
    return tr(f"evaluation.reg.model.{name}")


def panel(open_: bool) -> None:
    st.markdown(tr("evaluation.reg.intro"))
    left, right = st.columns([2, 3])
    loss = left.segmented_control(tr("evaluation.reg.loss"), reg.LOSSES, key=K + "loss", required=True,
                                  format_func=lambda n: tr(f"evaluation.reg.loss_{n}"))
    k = right.slider(tr("evaluation.reg.outliers"), 0, reg.OUTLIER_MAX, step=1, key=K + "outliers",
                     help=tr("evaluation.reg.outliers_help", shift=f"{reg.OUTLIER_SHIFT:g}"))
    if not open_:  # the models fit only when this tab is open
        return
    split = reg.load_split()
    with st.spinner(tr("evaluation.fitting")):
        fitted = fit_all(loss)
    scores = {name: reg.metrics(split.y_test, f.pred_test) for name, f in fitted.items()}
    table = pd.DataFrame({tr("evaluation.col_model"): [_model(n) for n in reg.MODELS],
                          "MAE": [scores[n].mae for n in reg.MODELS], "MSE": [scores[n].mse for n in reg.MODELS],
                          "RMSE": [scores[n].rmse for n in reg.MODELS], "R²": [scores[n].r2 for n in reg.MODELS],
                          tr("evaluation.col_seconds"): [fitted[n].seconds for n in reg.MODELS]})
    st.dataframe(table, hide_index=True, key=K + "table", column_config={
        c: st.column_config.NumberColumn(format="%.1f") for c in ("MAE", "MSE", "RMSE")} | {
        "R²": st.column_config.NumberColumn(format="%.3f"),
        tr("evaluation.col_seconds"): st.column_config.NumberColumn(format="%.3f")})
    st.markdown(tr("evaluation.reg.r2_note", mean=f"{scores['mean'].r2:.3f}", mlp=f"{scores['mlp'].r2:.3f}"))
    if scores["mlp"].r2 < 0:
        st.info(tr("evaluation.reg.negative", r2=f"{scores['mlp'].r2:.3f}"))
    _outliers(split, fitted["mlp"], k)
    st.caption(tr("evaluation.reg.caption", train=len(split.y_train), val=len(split.y_val), test=len(split.y_test),
                  steps=reg.STEPS, wd=f"{reg.DECAY:g}", s=f"{fitted['mlp'].seconds:.2f}"))


def _outliers(split: reg.RegSplit, mlp: reg.Fitted, k: int) -> None:
    st.subheader(tr("evaluation.reg.outliers_title"))
    shift = reg.OUTLIER_SHIFT * float(split.y_train.std())
    clean, dirty, y = reg.outlier_effect(split.y_test, mlp.pred_test, k, shift)
    cols = st.columns(4)
    cols[0].metric(tr("evaluation.reg.mae"), f"{dirty.mae:.1f}", f"{dirty.mae / clean.mae - 1:+.0%}", delta_color="inverse")
    cols[1].metric(tr("evaluation.reg.mse"), f"{dirty.mse:.1f}", f"{dirty.mse / clean.mse - 1:+.0%}", delta_color="inverse")
    cols[2].metric("RMSE", f"{dirty.rmse:.1f}", f"{dirty.rmse / clean.rmse - 1:+.0%}", delta_color="inverse")
    cols[3].metric("R²", f"{dirty.r2:.3f}", f"{dirty.r2 - clean.r2:+.3f}")
    if k:
        st.markdown(tr("evaluation.reg.outliers_note", k=k, n=len(y), shift=f"{shift:.0f}",
                       mae=f"{dirty.mae / clean.mae:.2f}", mse=f"{dirty.mse / clean.mse:.2f}"))
    a, b = st.columns(2)
    a.plotly_chart(figs.scatter_figure(y, mlp.pred_test, split.y_test, lang=lang()), key=K + "fig.scatter")
    b.plotly_chart(figs.residual_figure(y, mlp.pred_test, split.y_test, lang=lang()), key=K + "fig.residuals")
