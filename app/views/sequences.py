"""Sequences page: forecast a real or synthetic series against naive baselines, and watch a plain RNN
forget what an LSTM remembers (accuracy by length, gradient per time step, LSTM gates).

Both tabs run a `CompareJob` (several models, one after another, same data and seed) and poll it in a
fragment, like the Train page polls its job.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from app import export_panel, links
from app.compare import job_buttons, job_error, live_panel, progress_line
from app.state import data_preview, lang, readable, tr
from labcore.config import DataConfig, ModelConfig
from labcore.data.sequences import (
    MAX_SEQ_LEN,
    SERIES,
    forecast_scores,
    naive_forecasts,
    tokens_of,
    unscale,
    within_floor,
)
from labcore.i18n import LabError
from labcore.links import SEQUENCE_MODELS
from labcore.models import default_config
from labcore.train.compare import CompareJob, SequencesJob, compare_config
from labcore.train.probes import decay_ratio, lstm_gates
from labcore.viz.sequences import compare_curves_figure, forecast_figure, gates_figure, gradient_time_figure

RECURRENT = ("rnn", "gru", "lstm")
FORECAST_KEY, MEMORY_KEY = "seq.forecast_job", "seq.memory_job"
ss = st.session_state


def _models(names: list[str], bidirectional: bool = False) -> list[ModelConfig]:
    return [replace(default_config(n), bidirectional=bidirectional and n in RECURRENT) for n in names]


def _model_label(name: str, bidirectional: bool) -> str:
    label = tr(f"models.{name}")
    return tr("sequences.bidirectional_label", model=label) if bidirectional else label


# -- forecasting ---------------------------------------------------------------------------------------------
def _forecast_controls():
    left, mid, right = st.columns(3)
    name = left.selectbox(tr("sequences.series"), list(SERIES), key="seq.series",
                          format_func=lambda n: tr(f"datasets.{n}"))
    default_window = data_preview(DataConfig(name=name)).input_shape[1]
    if ss.get("seq.window_for") != name:  # a new series starts from its own natural window
        ss["seq.window"], ss["seq.window_for"] = default_window, name
    window = mid.slider(tr("sequences.window"), 4, MAX_SEQ_LEN, key="seq.window", help=tr("sequences.window_help"))
    horizon = right.slider(tr("sequences.horizon"), 1, 12, key="seq.horizon", help=tr("sequences.horizon_help"))
    left, mid, right = st.columns([2, 1, 1])
    models = left.multiselect(tr("sequences.models"), SEQUENCE_MODELS, key="seq.f_models",
                              format_func=lambda n: tr(f"models.{n}"))
    epochs = mid.slider(tr("ui.epochs"), 1, 100, key="seq.f_epochs")
    bidir = right.toggle(tr("sequences.bidirectional"), key="seq.f_bidir", help=tr("sequences.bidirectional_help"))
    data = DataConfig(name=name, seq_len=window, horizon=horizon)
    if not models:
        st.info(tr("sequences.pick_a_model"))
        return None
    return compare_config(data, _models(models, bidir), epochs=epochs, lr=3e-3)


def _forecast_tab() -> None:
    st.caption(tr("sequences.forecast_intro"))
    cfg = _forecast_controls()
    try:
        bundle = data_preview(cfg.data) if cfg else None
    except (LabError, ValueError) as e:
        st.warning(e.message(lang()) if isinstance(e, LabError) else tr("sequences.window_too_long"))
        cfg, bundle = None, None
    job = job_buttons(cfg, FORECAST_KEY, tr("sequences.train_forecast"), SequencesJob)
    if bundle is not None:
        st.caption(tr(bundle.extras["series"].source))

    def draw(j: CompareJob | None) -> None:
        if j is None:
            if bundle is not None:
                s = bundle.extras["series"]
                st.plotly_chart(forecast_figure(s.time, s.values, bundle.extras["cuts"], {}, lang=lang(),
                                                title=tr("sequences.series_title", name=tr(f"datasets.{bundle.name}"))),
                                key="seq.forecast_plot")
            return
        progress_line(j)
        _forecast_results(j)

    live_panel(FORECAST_KEY, draw)
    if job is not None and job.done:
        export_panel.comparison(job, "seq.f_export")


def _forecast_results(job: CompareJob) -> None:
    data = job.data
    if data is None:
        return
    series, starts = data.extras["series"], data.extras["starts_test"]
    horizon = data.y_test.shape[1]
    y_true = unscale(data, data.y_test.numpy())
    bidir = [m.bidirectional for m in job.config.models]
    forecasts, rows = {}, []
    for c, b in zip(job.contenders, bidir, strict=True):
        if c.test_pred is None:
            continue
        pred = within_floor(series, unscale(data, c.test_pred))  # sunspots: no negative forecasts
        label = _model_label(c.name, b)
        forecasts[label] = (series.time[starts], pred[:, 0])
        rows.append({"name": label, **forecast_scores(y_true, pred), "status": c.status})
    naive = naive_forecasts(series.values, starts, horizon, series.period)
    for key, pred in naive.items():
        pred = within_floor(series, pred)
        label = tr(f"sequences.{key}", period=series.period)
        forecasts["·" + label] = (series.time[starts], pred[:, 0])
        rows.append({"name": label, **forecast_scores(y_true, pred), "status": "baseline"})
    left, right = st.columns([3, 2])
    with left:
        title = tr("sequences.forecast_title", name=tr(f"datasets.{data.name}"), k=1)
        # Open on the test part and the stretch before it: that is where the forecasts are.
        focus = data.extras["cuts"][1] - 2 * data.input_shape[1]
        st.plotly_chart(forecast_figure(series.time, series.values, data.extras["cuts"], forecasts, title=title,
                                        focus_from=focus, lang=lang()), key="seq.forecast_plot")
        st.caption(tr("sequences.zoom_note"))
    with right:
        runs = [(_model_label(c.name, b), c.snapshot()[1]) for c, b in zip(job.contenders, bidir, strict=True)]
        st.plotly_chart(compare_curves_figure(runs, metric="val_loss", lang=lang()), key="seq.forecast_curves")
    best_naive = min(r["mae"] for r in rows if r["status"] == "baseline")
    # every row has its ratio, the baselines too (the best naive rule is +0 %): never "None"
    table = pd.DataFrame([{tr("sequences.col_model"): r["name"], "MAE": r["mae"], "RMSE": r["rmse"],
                           tr("sequences.col_vs_naive"): r["mae"] / best_naive - 1 if best_naive > 0 else float("nan")}
                          for r in rows])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "MAE": st.column_config.NumberColumn(format="%.3f"), "RMSE": st.column_config.NumberColumn(format="%.3f"),
        tr("sequences.col_vs_naive"): st.column_config.NumberColumn(format="percent")})
    st.caption(tr("sequences.scores_help" if horizon > 1 else "sequences.scores_help_one", horizon=horizon,
                  n=len(starts)))
    if series.floor is not None:
        st.caption(tr("sequences.floor_note", name=readable(data.name, "datasets"), floor=series.floor))
    job_error(job)


# -- long-range memory ------------------------------------------------------------------------------------------
def _memory_controls():
    left, mid, right = st.columns(3)
    length = left.slider(tr("sequences.length"), 5, MAX_SEQ_LEN, key="seq.length", help=tr("sequences.length_help"))
    noise = mid.slider(tr("sequences.distractors"), 0.0, 0.5, step=0.05, key="seq.noise",
                       help=tr("sequences.distractors_help"))
    epochs = right.slider(tr("ui.epochs"), 1, 60, key="seq.m_epochs")
    models = st.multiselect(tr("sequences.models"), SEQUENCE_MODELS, key="seq.m_models",
                            format_func=lambda n: tr(f"models.{n}"))
    if not models:
        st.info(tr("sequences.pick_a_model"))
        return None
    data = DataConfig(name="recall", seq_len=length, noise=noise)
    return compare_config(data, _models(models), epochs=epochs, lr=3e-3)


def _memory_tab() -> None:
    st.caption(tr("sequences.memory_intro"))
    cfg = _memory_controls()
    if cfg is not None:
        sample = data_preview(cfg.data)
        st.markdown(tr("sequences.example", tokens=" ".join(tokens_of(sample, "train", 0)),
                       label=sample.class_names[int(sample.y_train[0])]))
    job = job_buttons(cfg, MEMORY_KEY, tr("sequences.train_memory"), SequencesJob)

    def draw(j: CompareJob | None) -> None:
        if j is None:
            left, right = st.columns(2)
            left.plotly_chart(compare_curves_figure([], lang=lang()), key="seq.memory_curves")
            right.plotly_chart(gradient_time_figure([], lang=lang()), key="seq.gradients")
            return
        progress_line(j)
        runs = [(tr(f"models.{c.name}"), c.snapshot()[1]) for c in j.contenders]
        curves = [(tr(f"models.{c.name}"), c.gradients[-1][1]) for c in j.contenders if c.gradients]
        left, right = st.columns(2)
        left.plotly_chart(compare_curves_figure(runs, metric="val_acc", lang=lang()), key="seq.memory_curves")
        right.plotly_chart(gradient_time_figure(curves, lang=lang()), key="seq.gradients")

    live_panel(MEMORY_KEY, draw)
    if job is not None and job.done:
        _memory_results(job)
        export_panel.comparison(job, "seq.m_export")


def _memory_results(job: CompareJob) -> None:
    job_error(job)
    rows = []
    for c in job.contenders:
        if c.trainer is None:
            continue
        first = c.gradients[0][1] if c.gradients else None
        last = c.gradients[-1][1] if c.gradients else None
        rows.append({tr("sequences.col_model"): tr(f"models.{c.name}"), tr("sequences.col_test_acc"): c.test_acc,
                     tr("sequences.col_ratio_start"): decay_ratio(first) if first is not None else None,
                     tr("sequences.col_ratio_end"): decay_ratio(last) if last is not None else None})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        tr("sequences.col_test_acc"): st.column_config.NumberColumn(format="percent"),
        tr("sequences.col_ratio_start"): st.column_config.NumberColumn(format="%.1e"),
        tr("sequences.col_ratio_end"): st.column_config.NumberColumn(format="%.1e")})
    st.caption(tr("sequences.memory_table_help", length=job.data.input_shape[1]))
    lstm = next((c for c in job.contenders if c.name == "lstm" and c.trainer is not None), None)
    if lstm is None:
        st.caption(tr("sequences.gates_need_lstm"))
        return
    st.subheader(tr("sequences.gates_title"))
    data = job.data
    i = st.number_input(tr("sequences.example_index"), 0, len(data.y_test) - 1, value=0, key="seq.gate_example")
    tokens = [data.extras["vocab"][int(k)] for k in data.extras["ids_test"][i]]
    gates = lstm_gates(lstm.trainer.model, data.x_test[i])
    st.plotly_chart(gates_figure(gates, tokens, lang=lang()), key="seq.gates")
    st.caption(tr("sequences.gates_help", label=data.class_names[int(data.y_test[i])]))


# -- the page -------------------------------------------------------------------------------------------------
# A link (or the setup this page had when the user left it) goes into the widgets (app/links.py); the
# widgets take their starting values from there, not from `value=`.
LINK_KEYS = {"forecast.series": "series", "forecast.window": "window", "forecast.horizon": "horizon",
             "forecast.models": "f_models", "forecast.epochs": "f_epochs", "forecast.bidirectional": "f_bidir",
             "memory.length": "length", "memory.distractors": "noise", "memory.epochs": "m_epochs",
             "memory.models": "m_models"}
link = links.keys_with_prefix("sequences", "seq.", LINK_KEYS)
link.load = lambda values: ss.update({"seq.window_for": values["forecast.series"]})  # the link's window stays
links.setup(link)
ss.setdefault("seq.window_for", ss["seq.series"])
st.title(tr("sequences.title"))
st.caption(tr("sequences.intro"))
forecast_tab, memory_tab = st.tabs([tr("sequences.tab_forecast"), tr("sequences.tab_memory")])
with forecast_tab:
    _forecast_tab()
with memory_tab:
    _memory_tab()
