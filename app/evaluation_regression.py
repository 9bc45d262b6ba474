"""The Evaluation page's regression tab (lesson 5): MAE, MSE, RMSE and R² of a small MLP regressor against the
mean, linear regression and gradient boosting on one of five offline data sets (the diabetes table, a generated
1-D wave, a generated 2-D surface, the CO₂ series as a table of lags split in time order, and the same differenced),
the predicted-vs-true and residual plots, the fitted curves over x (wave) or the test months over time (lags, diffs),
and an outlier slider
showing MSE jump far more than MAE. Numbers from labcore.evaluation.regression (sklearn.metrics); R² is shown as it
is, negative where a model does worse than the test targets' mean."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.state import lang, tr
from labcore.evaluation import regression as reg
from labcore.viz import regression as figs

K = "ev.reg."


@st.cache_data(show_spinner=False, max_entries=8)
def load(data: str) -> reg.RegSplit:
    """The split of `data` (the CO₂ series is read from statsmodels once)."""
    return reg.load_split(data=data)


@st.cache_data(show_spinner=False, max_entries=16)
def fit_all(data: str, loss: str) -> dict[str, reg.Fitted]:
    """The three references and the MLP on the same split (all together well under a second)."""
    split = load(data)
    out = {name: reg.fit_classic(name, split) for name in ("mean", "linear", "boosting")}
    return out | {"mlp": reg.fit_mlp(split, loss)}


def _model(name: str) -> str:
    return tr(f"evaluation.reg.model.{name}")


def panel(open_: bool) -> None:
    data = st.segmented_control(tr("evaluation.reg.data"), reg.DATASETS, key=K + "data", required=True,
                                format_func=lambda n: tr(f"evaluation.reg.data_{n}"))
    if data == "diabetes":
        st.markdown(tr("evaluation.reg.intro"))
    else:
        size, noise = {"wave": (reg.WAVE_SIZE, reg.WAVE_NOISE), "surface": (reg.SURFACE_SIZE, reg.SURFACE_NOISE)}.get(
            data, (0, 0.0))
        st.markdown(tr(f"evaluation.reg.about_{data}", lags=reg.LAGS, n=size, noise=f"{noise:g}"))
    left, right = st.columns([2, 3])
    loss = left.segmented_control(tr("evaluation.reg.loss"), reg.LOSSES, key=K + "loss", required=True,
                                  format_func=lambda n: tr(f"evaluation.reg.loss_{n}"))
    k = right.slider(tr("evaluation.reg.outliers"), 0, reg.OUTLIER_MAX, step=1, key=K + "outliers",
                     help=tr("evaluation.reg.outliers_help", shift=f"{reg.OUTLIER_SHIFT:g}"))
    if not open_:  # the models fit only when this tab is open
        return
    with st.spinner(tr("evaluation.fitting")):
        split = load(data)
        fitted = fit_all(data, loss)
    digits = reg.DIGITS[data]
    scores = {name: reg.metrics(split.y_test, f.pred_test) for name, f in fitted.items()}
    table = pd.DataFrame({tr("evaluation.col_model"): [_model(n) for n in reg.MODELS],
                          "MAE": [scores[n].mae for n in reg.MODELS], "MSE": [scores[n].mse for n in reg.MODELS],
                          "RMSE": [scores[n].rmse for n in reg.MODELS], "R²": [scores[n].r2 for n in reg.MODELS],
                          tr("evaluation.col_seconds"): [fitted[n].seconds for n in reg.MODELS]})
    st.dataframe(table, hide_index=True, key=K + "table", column_config={
        c: st.column_config.NumberColumn(format=f"%.{digits}f") for c in ("MAE", "MSE", "RMSE")} | {
        "R²": st.column_config.NumberColumn(format="%.3f"),
        tr("evaluation.col_seconds"): st.column_config.NumberColumn(format="%.3f")})
    note = "evaluation.reg.r2_note_time" if data == "lags" else "evaluation.reg.r2_note"  # the past's mean is far off
    st.markdown(tr(note, mean=f"{scores['mean'].r2:.3f}", mlp=f"{scores['mlp'].r2:.3f}"))
    negative = [n for n in reg.MODELS if round(scores[n].r2, 3) < 0]  # below zero as shown (not a -0.000)
    if negative:
        st.info(tr("evaluation.reg.negative_models", models=", ".join(
            f"{_model(n)} ({scores[n].r2:.3f})" for n in negative)))
    if data == "wave":
        _wave(split, fitted, scores)
    elif data in ("lags", "diffs"):
        _months(split, fitted, scores, loss)
    _outliers(split, fitted["mlp"], k, digits)
    steps, lr, decay = reg.MLP_SETTINGS[data]
    if data == "diabetes":
        st.caption(tr("evaluation.reg.caption", train=len(split.y_train), val=len(split.y_val), test=len(split.y_test),
                      steps=steps, wd=f"{decay:g}", s=f"{fitted['mlp'].seconds:.2f}"))
    else:
        how = "split_time" if split.time_order else "split_random"
        st.caption(tr(f"evaluation.reg.{how}", train=len(split.y_train), val=len(split.y_val), test=len(split.y_test))
                   + " " + tr("evaluation.reg.mlp_caption", steps=steps, lr=f"{lr:g}", wd=f"{decay:g}",
                              s=f"{fitted['mlp'].seconds:.2f}"))


def _wave(split: reg.RegSplit, fitted: dict[str, reg.Fitted], scores: dict[str, reg.Metrics]) -> None:
    """The fitted curves over x: the straight line cannot follow the wave."""
    st.subheader(tr("evaluation.reg.curves_title"))
    v = "evaluation.reg.viz."
    fig = figs.lines_figure(
        [(tr(v + "train_points"), split.raw_train[:, 0], split.y_train), (tr(v + "test_points"), split.raw_test[:, 0],
                                                                          split.y_test)],
        split.grid, {_model(n): fitted[n].pred_grid for n in reg.MODELS}, "x", "y",
        truth=(tr(v + "noiseless"), reg.wave_function(split.grid)), lang=lang(), digits=2)
    st.plotly_chart(fig, key=K + "fig.curves")
    st.markdown(tr("evaluation.reg.curves_note", linear=f"{scores['linear'].r2:.3f}", mlp=f"{scores['mlp'].r2:.3f}",
                   boosting=f"{scores['boosting'].r2:.3f}", best=f"{reg.noiseless_r2(split):.3f}"))


def _months(split: reg.RegSplit, fitted: dict[str, reg.Fitted], scores: dict[str, reg.Metrics], loss: str) -> None:
    """The test months over time with each model's one-month-ahead forecast: on the levels the trees stay below the
    past's top; on the changes they reach the test months."""
    st.subheader(tr("evaluation.reg.months_title"))
    v = "evaluation.reg.viz."
    y_title = tr(v + ("co2" if split.data == "lags" else "co2_change"))
    fig = figs.lines_figure([(tr(v + "test_months"), split.time_test, split.y_test)], split.time_test,
                            {_model(n): fitted[n].pred_test for n in reg.MODELS}, tr(v + "year"), y_title,
                            lang=lang(), digits=reg.DIGITS[split.data])
    st.plotly_chart(fig, key=K + "fig.months")
    if split.data == "diffs":
        levels = load("lags")
        level = reg.metrics(levels.y_test, fit_all("lags", loss)["boosting"].pred_test).r2
        st.markdown(tr("evaluation.reg.diffs_note", low=f"{split.y_test.min():.2f}", high=f"{split.y_test.max():.2f}",
                       tlow=f"{split.y_train.min():.2f}", thigh=f"{split.y_train.max():.2f}",
                       boosting=f"{scores['boosting'].r2:.3f}", level=f"{level:.3f}"))
        return
    st.markdown(tr("evaluation.reg.months_note", top=f"{split.y_train.max():.1f}", lags=reg.LAGS,
                   low=f"{split.y_test.min():.1f}", high=f"{split.y_test.max():.1f}",
                   boost_top=f"{fitted['boosting'].pred_test.max():.1f}",
                   boosting=f"{scores['boosting'].r2:.3f}", mean=f"{scores['mean'].r2:.3f}",
                   linear=f"{scores['linear'].r2:.3f}"))


def _outliers(split: reg.RegSplit, mlp: reg.Fitted, k: int, digits: int) -> None:
    st.subheader(tr("evaluation.reg.outliers_title"))
    shift = reg.OUTLIER_SHIFT * float(split.y_train.std())
    clean, dirty, y = reg.outlier_effect(split.y_test, mlp.pred_test, k, shift)
    f = f".{digits}f"
    cols = st.columns(4)
    cols[0].metric(tr("evaluation.reg.mae"), f"{dirty.mae:{f}}", f"{dirty.mae / clean.mae - 1:+.0%}", delta_color="inverse")
    cols[1].metric(tr("evaluation.reg.mse"), f"{dirty.mse:{f}}", f"{dirty.mse / clean.mse - 1:+.0%}", delta_color="inverse")
    cols[2].metric("RMSE", f"{dirty.rmse:{f}}", f"{dirty.rmse / clean.rmse - 1:+.0%}", delta_color="inverse")
    cols[3].metric("R²", f"{dirty.r2:.3f}", f"{dirty.r2 - clean.r2:+.3f}")
    if k:
        key = "evaluation.reg.outliers_note" if split.data == "diabetes" else "evaluation.reg.outliers_note_value"
        st.markdown(tr(key, k=k, n=len(y), shift=f"{shift:.{max(digits - 1, 0)}f}",
                       mae=f"{dirty.mae / clean.mae:.2f}", mse=f"{dirty.mse / clean.mse:.2f}"))
    a, b = st.columns(2)
    a.plotly_chart(figs.scatter_figure(y, mlp.pred_test, split.y_test, lang=lang(), data=split.data, digits=digits),
                   key=K + "fig.scatter")
    b.plotly_chart(figs.residual_figure(y, mlp.pred_test, split.y_test, lang=lang(), data=split.data, digits=digits),
                   key=K + "fig.residuals")
