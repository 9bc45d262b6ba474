"""Optimizer race page: 2-8 contenders train the same network from the same weights on the same batches, live.

The setup lives in session state (one key per widget, no widget defaults) and is mirrored into the URL,
so a link restores it. The race itself is a `RaceJob` in the shared registry, like a training run.
"""

from __future__ import annotations

import math
from dataclasses import replace

import streamlit as st

from app import export_panel, links
from app.state import current_job, data_preview, lang, start_job, tr
from app.widgets import BATCH_SIZES, LEARNING_RATES, pause_stop_buttons, polling_fragment, stale_notice, waiting_notice
from labcore.config import DataConfig, OptimConfig, RunConfig
from labcore.data import DATASETS, dataset_info
from labcore.links import RACE_LEARNING_RATES, RACE_WEIGHT_DECAYS, race_config, race_values
from labcore.models import SEQUENCE_KINDS, default_config
from labcore.train.lr_finder import find_lr
from labcore.train.optimizers import OPTIMIZERS
from labcore.train.race import (
    MAX_CONTENDERS,
    MIN_CONTENDERS,
    Contender,
    RaceConfig,
    RaceJob,
    optimizer_defaults,
    race_models,
)
from labcore.train.race_setup import PRESETS, preset
from labcore.train.schedules import SCHEDULES
from labcore.viz import lr_finder_figure
from labcore.viz.race import (
    contender_color,
    contender_labels,
    leaderboard_frame,
    leaderboard_rows,
    race_figure,
)

POLL_SECONDS = 0.5
JOB_KEY = "race_job_id"
ss = st.session_state
# Per-contender widgets and the OptimConfig field each one sets.
OPTION_FIELDS = ("name", "lr", "momentum", "beta1", "beta2", "alpha", "weight_decay", "schedule")


# -- the setup in session state ---------------------------------------------------------------------------
def _key(cid: int, name: str) -> str:
    return f"race.c{cid}.{name}"


def _load(cfg: RaceConfig) -> None:
    """Put a whole setup into the widgets' keys (fresh contender ids, so no stale widget keeps its value)."""
    first = ss.get("race.next", 0)
    ss["race.ids"] = list(range(first, first + len(cfg.contenders)))
    ss["race.next"] = first + len(cfg.contenders)
    ss["race.data"], ss["race.model"] = cfg.data.name, cfg.model.name
    ss["race.epochs"], ss["race.batch"], ss["race.seed"] = cfg.train.epochs, cfg.train.batch_size, cfg.train.seed
    ss["race.target"] = cfg.target_acc
    ss["race.base"] = cfg  # what the widgets do not show (data and model options) comes from here
    for cid, c in zip(ss["race.ids"], cfg.contenders, strict=True):
        _load_contender(cid, c)


def _load_contender(cid: int, c: Contender) -> None:
    for name in OPTION_FIELDS:
        ss[_key(cid, name)] = getattr(c.optim, name)
    ss[_key(cid, "batch")] = c.batch_size
    ss[_key(cid, "base")] = c.optim


def _contender(cid: int) -> Contender:
    base: OptimConfig = ss[_key(cid, "base")]
    values = {name: ss.get(_key(cid, name), getattr(base, name)) for name in OPTION_FIELDS}
    return Contender(replace(base, **values), int(ss.get(_key(cid, "batch"), 0)))


def _config() -> RaceConfig:
    base: RaceConfig = ss["race.base"]
    data = base.data if base.data.name == ss["race.data"] else DataConfig(name=ss["race.data"])
    model = base.model if base.model.name == ss["race.model"] else default_config(ss["race.model"])
    train = replace(base.train, epochs=int(ss["race.epochs"]), batch_size=int(ss["race.batch"]),
                    seed=int(ss["race.seed"]))
    return RaceConfig(data=data, model=model, train=train, contenders=tuple(_contender(c) for c in ss["race.ids"]),
                      target_acc=float(ss["race.target"]))


# -- callbacks --------------------------------------------------------------------------------------------
def _apply_preset() -> None:
    if ss.get("race.preset"):
        _load(preset(ss["race.preset"]))


def _on_optimizer(cid: int) -> None:
    """A new optimizer starts from its own usual settings (Adam's lr is not SGD's); schedule and batch stay."""
    old = _contender(cid)
    new = optimizer_defaults(ss[_key(cid, "name")], schedule=old.optim.schedule)
    _load_contender(cid, Contender(new, old.batch_size))


def _on_data() -> None:
    models = race_models(dataset_info(ss["race.data"]))
    if ss["race.model"] not in models:
        ss["race.model"] = "cnn" if "cnn" in models else models[0]


def _add() -> None:
    cid = ss["race.next"]
    ss["race.next"] += 1
    _load_contender(cid, _contender(ss["race.ids"][-1]))  # a copy of the last one: change one thing
    ss["race.ids"] = [*ss["race.ids"], cid]


def _remove(cid: int) -> None:
    ss["race.ids"] = [c for c in ss["race.ids"] if c != cid]


def _start(cfg: RaceConfig) -> None:
    start_job(cfg, JOB_KEY, "race.error", RaceJob)


def _use_lr(cid: int, lr: float) -> None:
    ss[_key(cid, "lr")] = min(LEARNING_RATES, key=lambda o: abs(math.log(o / lr)))


@st.cache_data(show_spinner=False, max_entries=32)
def _lr_sweep(cfg: RunConfig):
    return find_lr(cfg, data_preview(cfg.data))


@st.dialog(tr("race.finder_title"), width="large")
def _finder_dialog(cid: int, number: int, cfg: RunConfig) -> None:
    st.caption(tr("race.finder_help"))
    with st.spinner(tr("race.finder_running")):
        result = _lr_sweep(cfg)
    st.plotly_chart(lr_finder_figure(result, lang=lang()), key="finder_chart")
    if st.button(tr("race.finder_use", lr=result.suggestion, n=number), type="primary", on_click=_use_lr,
                 args=(cid, result.suggestion), key="finder_use"):
        st.rerun()


# -- widgets ----------------------------------------------------------------------------------------------
# Links are held to these widgets' values (labcore.links.race); a value set in code still gets a place.
def _steps(options: list, key: str) -> list:
    return sorted({*options, ss[key]})


def _span(low: float, high: float, key: str) -> tuple[float, float]:
    return min(low, ss[key]), max(high, ss[key])


def _sidebar() -> None:
    sb = st.sidebar
    sb.selectbox(tr("race.preset"), list(PRESETS), index=None, key="race.preset", on_change=_apply_preset,
                 format_func=lambda p: tr(f"race.preset_{p}"), placeholder=tr("race.preset_placeholder"))
    sb.subheader(tr("ui.data"))
    sb.selectbox(tr("ui.dataset"), [n for n in DATASETS.names() if dataset_info(n).kind not in SEQUENCE_KINDS],
                 key="race.data",
                 format_func=lambda n: tr(f"datasets.{n}"), on_change=_on_data)
    sb.selectbox(tr("ui.architecture"), race_models(dataset_info(ss["race.data"])), key="race.model",
                 format_func=lambda n: tr(f"models.{n}"))
    sb.subheader(tr("ui.training"))
    sb.slider(tr("ui.epochs"), *_span(1, 50, "race.epochs"), key="race.epochs")
    sb.select_slider(tr("race.batch_size"), _steps(BATCH_SIZES, "race.batch"), key="race.batch",
                     help=tr("race.batch_help"))
    sb.number_input(tr("ui.seed"), *_span(0, 10_000, "race.seed"), key="race.seed", help=tr("race.seed_help"))
    sb.slider(tr("race.target"), *_span(0.5, 1.0, "race.target"), step=0.01, key="race.target", format="%.2f",
              help=tr("race.target_help"))
    sb.caption(tr("race.share"))


def _contender_card(cid: int, number: int, locked: bool) -> None:
    c = _contender(cid)
    spec = OPTIMIZERS.get(c.optim.name)
    color = contender_color(number - 1)
    with st.container(border=True):
        st.markdown(f"<span style='color:{color};font-size:1.3em'>●</span> **{tr('race.contender', n=number)}**",
                    unsafe_allow_html=True)
        st.selectbox(tr("ui.optimizer"), OPTIMIZERS.names(), key=_key(cid, "name"), on_change=_on_optimizer,
                     args=(cid,), format_func=lambda n: tr(f"optimizers.{n}"), disabled=locked)
        st.select_slider(tr("ui.lr"), _steps(RACE_LEARNING_RATES, _key(cid, "lr")), key=_key(cid, "lr"),
                         format_func=lambda v: f"{v:g}", disabled=locked)
        with st.expander(tr("race.options")):
            if "momentum" in spec.options:
                st.slider(tr("ui.momentum"), *_span(0.0, 0.99, _key(cid, "momentum")), step=0.01,
                          key=_key(cid, "momentum"), disabled=locked)
            if "beta1" in spec.options:
                st.slider("β₁", *_span(0.0, 0.999, _key(cid, "beta1")), step=0.001, key=_key(cid, "beta1"),
                          disabled=locked)
                st.slider("β₂", *_span(0.9, 0.9999, _key(cid, "beta2")), step=0.0001, format="%.4f",
                          key=_key(cid, "beta2"), disabled=locked)
            if "alpha" in spec.options:
                st.slider(tr("ui.alpha"), *_span(0.5, 0.999, _key(cid, "alpha")), step=0.001,
                          key=_key(cid, "alpha"), disabled=locked)
            st.select_slider(tr("ui.weight_decay"), _steps(RACE_WEIGHT_DECAYS, _key(cid, "weight_decay")),
                             key=_key(cid, "weight_decay"), format_func=lambda v: f"{v:g}", disabled=locked)
            st.selectbox(tr("ui.schedule"), SCHEDULES.names(), key=_key(cid, "schedule"),
                         format_func=lambda s: tr(f"schedules.{s}"), disabled=locked)
            st.selectbox(tr("race.own_batch"), _steps([0, *BATCH_SIZES], _key(cid, "batch")), key=_key(cid, "batch"),
                         disabled=locked,
                         format_func=lambda b: tr("race.same_batch") if b == 0 else str(b))
        left, right = st.columns([3, 1])
        if left.button(tr("race.suggest_lr"), key=f"race.suggest.{cid}", icon=":material/query_stats:",
                       disabled=locked, help=tr("race.suggest_help"), width="stretch"):
            _finder_dialog(cid, number, _config().solo(ss["race.ids"].index(cid)))
        right.button(":material/delete:", key=f"race.remove.{cid}", on_click=_remove, args=(cid,),
                     help=tr("race.remove"), width="stretch",
                     disabled=locked or len(ss["race.ids"]) <= MIN_CONTENDERS)


def _recipe(cfg: RaceConfig) -> None:
    m = cfg.model
    st.markdown(tr("race.recipe", data=tr(f"datasets.{cfg.data.name}"), model=tr(f"models.{m.name}"),
                   epochs=cfg.train.epochs, batch=cfg.train.batch_size, n=len(cfg.contenders)))
    st.info(tr("race.fair", seed=cfg.train.seed), icon=":material/balance:")
    sizes = sorted({cfg.batch_size(i) for i in range(len(cfg.contenders))})
    if len(sizes) > 1:
        st.info(tr("race.heats", sizes=", ".join(map(str, sizes))), icon=":material/call_split:")


# -- the page ---------------------------------------------------------------------------------------------
# A link (or the setup this page had when the user left it) goes into the widgets (app/links.py).
links.setup(links.PageLink("race", load=lambda values: _load(race_config(values))))
if "race.epochs" not in ss or "race.ids" not in ss:
    _load(preset("optimizers"))
job = current_job(JOB_KEY)
active = job is not None and not job.done

st.title(tr("race.title"))
st.caption(tr("race.intro"))
_sidebar()
if ss.get("race.preset"):
    st.sidebar.caption(tr(f"race.preset_{ss['race.preset']}_about"))

cfg = _config()
links.publish(race_values(cfg))

_recipe(cfg)
ids = ss["race.ids"]
for row in range(0, len(ids), 4):
    for col, cid in zip(st.columns(4), ids[row : row + 4], strict=False):
        with col:
            _contender_card(cid, ids.index(cid) + 1, locked=active)

cols = st.columns([1.3, 1.3, 1, 1, 3], vertical_alignment="bottom")
cols[0].button(tr("race.add"), on_click=_add, key="race.btn_add", icon=":material/add:", width="stretch",
               disabled=active or len(ids) >= MAX_CONTENDERS)
cols[1].button(tr("race.start"), type="primary", on_click=_start, args=(cfg,), disabled=active, key="race.btn_start",
               icon=":material/sports_score:", width="stretch")
pause_stop_buttons(cols[2], cols[3], job, "race.")
cols[4].toggle(tr("race.log_loss"), key="race.log", value=True)
if "race.error" in ss:
    st.warning(ss["race.error"])
stale_notice(job, cfg)


@polling_fragment(POLL_SECONDS if active else None)
def live_panel() -> None:
    j = current_job(JOB_KEY)
    log_loss = ss.get("race.log", True)
    if j is None:
        st.plotly_chart(race_figure([], contender_labels(cfg, lang()), lang=lang()), key="race_curves")
        return
    if waiting_notice(j):
        st.plotly_chart(race_figure([], contender_labels(j.config, lang()), lang=lang()), key="race_curves")
        return
    p = j.progress()
    eta = "–" if not math.isfinite(p["eta_s"]) else f"{p['eta_s']:.0f} s"
    text = tr("race.progress_done" if j.done else "race.progress", status=tr(f"status.{j.status}"),
              epoch=p["epoch"], epochs=p["epochs"], elapsed=p["elapsed_s"], eta=eta)
    st.progress(min(1.0, p["fraction"]), text=text)
    standings, labels = j.standings(), contender_labels(j.config, lang())
    st.plotly_chart(race_figure(standings, labels, target=j.config.target_acc, log_loss=log_loss, lang=lang()),
                    key="race_curves")
    for s in standings:
        if s.status == "diverged":
            st.caption(tr("race.lane_diverged", label=labels[s.index], step=s.diverged_step))
    if active and j.done:
        st.rerun()  # one full rerun: buttons unlock and the leaderboard appears


live_panel()

if job is not None and job.done:
    if job.error is not None:
        (st.error if job.status == "failed" else st.warning)(job.error.message(lang()))
    elif job.status == "stopped":
        st.info(tr("race.stopped_note"), icon=":material/stop_circle:")
    standings = job.standings()
    if any(s.epochs for s in standings):
        st.subheader(tr("race.leaderboard"))
        rows = leaderboard_rows(standings, job.config.target_acc)
        frame = leaderboard_frame(rows, contender_labels(job.config, lang()), param_bytes=job.race.param_bytes,
                                  lang=lang())
        st.dataframe(frame, hide_index=True, width="stretch", column_config={
            tr("race.col_best_val_acc"): st.column_config.NumberColumn(format="percent"),
            tr("race.col_steps_to_target"): st.column_config.NumberColumn(format="%d", help=tr("race.steps_help")),
            tr("race.col_seconds_to_target"): st.column_config.NumberColumn(format="%.1f s",
                                                                            help=tr("race.seconds_help")),
            tr("race.col_final_loss"): st.column_config.NumberColumn(format="%.4f"),
            tr("race.col_state_bytes"): st.column_config.NumberColumn(format="%d"),
            tr("race.col_state_per_weight"): st.column_config.NumberColumn(format="%.1f ×"),
        })
        st.caption(tr("race.leaderboard_help", target=job.config.target_acc))
        export_panel.race(job, "race.export")  # each contender's network, as the race trained it
