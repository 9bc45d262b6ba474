"""Train page: pick data, model and optimizer in the sidebar, press Train, watch it learn, read the results."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st
import torch

from app import deploy_panel, inside_panel, links, present, results
from app.state import current_job, data_preview, lang, read_log, start_job, tr
from app.tasks import background, download_panel
from app.widgets import LEARNING_RATES, key, pause_stop_buttons, polling_fragment, restore, run_controls, waiting_notice
from labcore.i18n import LabError
from labcore.links import train_config, train_values
from labcore.models import build_model, count_parameters, summarize
from labcore.train.augment import augment_preview
from labcore.train.job import TrainingJob
from labcore.train.lr_finder import find_lr
from labcore.viz import grad_norm_figure, image_grid_figure, lr_figure, lr_finder_figure, scatter2d_figure, training_curves_figure

POLL_SECONDS = 0.5

# A link (or the setup this page had when the user left it) goes into the widgets; the widgets write the link.
links.setup(links.PageLink("train", load=lambda values: restore(train_config(values)),
                           context={"cuda": torch.cuda.is_available()}))
cfg = run_controls()
links.publish(train_values(cfg))
job = current_job()

st.title(tr("train.title"))
st.caption(tr("train.intro"))


# -- buttons ------------------------------------------------------------------------------------------
def _start() -> None:
    if start_job(cfg, "job_id", "train_error") is not None:
        st.session_state["live_lr"] = _nearest_lr(cfg.optim.lr)


def _find_lr(model, cfg, bundle, progress=None):
    return find_lr(cfg, bundle, model=model, progress=progress)


def _nearest_lr(lr: float) -> float:
    return min(LEARNING_RATES, key=lambda o: abs(math.log(o / lr)))


def _apply_lr(j: TrainingJob) -> None:
    lr = st.session_state["live_lr"]
    j.set_lr(lr)
    st.toast(tr("train.lr_applied", lr=lr), icon=":material/speed:")


active = job is not None and not job.done
cols = st.columns([1.2, 1, 1, 2.6, 1.2], vertical_alignment="bottom")
cols[0].button(tr("train.train"), type="primary", on_click=_start, disabled=active, key="btn_train",
               icon=":material/play_arrow:", width="stretch")
pause_stop_buttons(cols[1], cols[2], job)
if active:
    st.session_state.setdefault("live_lr", _nearest_lr(job.config.optim.lr))
    cols[3].select_slider(tr("train.live_lr"), LEARNING_RATES, key="live_lr", format_func=lambda v: f"{v:g}")
    cols[4].button(tr("train.apply_lr"), on_click=_apply_lr, args=(job,), key="btn_lr", width="stretch")
if "train_error" in st.session_state:
    st.warning(st.session_state["train_error"])


def _setup_line(c) -> str:
    """What a run is training, in words (the sidebar may show another setup by now)."""
    short = lambda text: text.split(" · ")[0]  # noqa: E731 - "Digits · 8×8 handwritten" -> "Digits"
    return tr("train.setup_line", model=short(tr(f"models.{c.model.name}")), data=short(tr(f"datasets.{c.data.name}")),
              optimizer=tr(f"optimizers.{c.optim.name}"), lr=c.optim.lr, batch=c.train.batch_size,
              epochs=c.train.epochs)


if job is not None:  # name what is (or was) training: the sidebar can be changed while it runs
    which = "queued_setup" if job.status == "queued" else "running_setup" if active else "finished_setup"
    st.caption(tr(f"train.{which}", setup=_setup_line(job.config)))
    if active and job.config != cfg:
        st.info(tr("train.sidebar_changed"), icon=":material/info:")


# -- live panel: redrawn every half second while a job runs ---------------------------------------------
def _status_line(j: TrainingJob) -> None:
    p = j.progress()
    frac = p["step"] / p["total_steps"] if p["total_steps"] else 0.0
    eta = "–" if not math.isfinite(p["eta_s"]) else f"{p['eta_s']:.0f} s"
    text = tr("train.progress", status=tr(f"status.{j.status}"), epoch=p["epoch"], epochs=p["epochs"],
              step=p["step"], total=p["total_steps"], speed=p["samples_per_s"], eta=eta)
    st.progress(min(1.0, frac), text=text)


@polling_fragment(POLL_SECONDS if active and job.status != "paused" else None)  # paused: nothing to redraw
def live_panel() -> None:
    j = current_job()
    if j is None:
        st.info(tr("train.press_train"))
        st.plotly_chart(training_curves_figure([], [], lang=lang()), key="curves")
        return
    if waiting_notice(j):  # in line: no curves yet, and no "Press Train" on an empty chart either
        return
    _status_line(j)
    steps, epochs = read_log(j)
    marks = list(j.lr_changes)
    curves = training_curves_figure(steps, epochs, lang=lang(), lr_changes=marks)
    if j.boundary is not None:
        left, right = st.columns([3, 2])
        with left:
            st.plotly_chart(curves, key="curves")
        with right:
            results.boundary(j)
    else:
        st.plotly_chart(curves, key="curves")
    # the learning rate each step used and the gradient's size: where a live change shows its effect first
    lr_col, grad_col = st.columns(2)
    lr_col.plotly_chart(lr_figure(steps, lang=lang(), lr_changes=marks), key="lr_steps")
    grad_col.plotly_chart(grad_norm_figure(steps, lang=lang(), lr_changes=marks), key="grad_steps")
    inside_panel.show(j)  # per-layer activations, gradients and weights ("Inside the network")
    if active and j.done:
        st.rerun()  # one full rerun: buttons and result panels catch up, the timer stops


live_panel()

# -- after the run ---------------------------------------------------------------------------------------------
if job is not None and job.done:
    results.show(job)
    deploy_panel.show(job)

# -- before a run: what the model and data look like -----------------------------------------------------
if job is None or job.done:
    try:
        bundle = data_preview(cfg.data)
    except LabError as e:
        st.warning(e.message(lang()))
        if e.key == "data.download_first":
            download_panel(cfg.data.name)
        st.stop()
    model = build_model(cfg.model, bundle, seed=0)

    def lr_finder_panel() -> None:
        st.caption(tr("train.lr_finder_help"))
        if st.button(tr("train.lr_finder_run"), key="btn_lr_find", icon=":material/search:"):
            st.session_state["lr_find_for"] = cfg
        # The sweep is a background job (a bar, the page stays usable); its result is kept per setup.
        result = (background(("lr_finder", cfg), tr("train.lr_finder_running"), _find_lr, cfg, bundle, model=model)
                  if st.session_state.get("lr_find_for") == cfg else None)
        if result is not None:
            st.plotly_chart(lr_finder_figure(result, lang=lang()), key="lr_finder")

            def _use(lr: float = _nearest_lr(result.suggestion)) -> None:
                st.session_state[key("optim", "lr", cfg.optim.name)] = lr

            st.button(tr("train.lr_finder_use", lr=_nearest_lr(result.suggestion)), on_click=_use, key="btn_lr_use")

    def summary_panel() -> None:
        rows = summarize(model, bundle.input_shape)
        table = pd.DataFrame([{tr("train.col_layer"): r["layer"], tr("train.col_type"): r["type"],
                               tr("train.col_output"): " × ".join(map(str, r["output"])),
                               tr("train.col_params"): r["params"]} for r in rows])
        st.dataframe(table, hide_index=True, width="stretch")

    trainable, total = count_parameters(model)
    panels = ((tr("train.lr_finder"), lr_finder_panel), (tr("train.model_summary", params=f"{total:,}"), summary_panel))
    if present.presenting():  # in front of a class: both behind one "More controls" expander
        with present.rarely_needed():
            for title, panel in panels:
                st.markdown(f"**{title}**")
                panel()
    else:
        for title, panel in panels:
            with st.expander(title):
                panel()
    with st.expander(tr("train.look_at_data", **bundle.sizes()), expanded=job is None):
        x, y = bundle.x_train[:400].float(), bundle.y_train[:400].numpy()
        if bundle.info.kind == "image":
            x = x / 255 if bundle.x_train.dtype == torch.uint8 else x
            titles = [bundle.class_names[int(c)] for c in y[:24]]
            st.plotly_chart(image_grid_figure(x[:24].numpy(), titles=titles, cols=12, lang=lang()), key="data_grid")
            if cfg.augment.active:
                st.caption(tr("train.augment_preview"))
                grid = augment_preview(x[:4], cfg.augment, variants=7, seed=int(st.session_state.get("aug_seed", 0)))
                st.plotly_chart(image_grid_figure(grid, cols=8, lang=lang()), key="aug_grid")
                if st.button(tr("train.augment_again"), key="btn_aug"):
                    st.session_state["aug_seed"] = int(st.session_state.get("aug_seed", 0)) + 1
                    st.rerun()
        elif bundle.info.kind == "points":
            st.plotly_chart(scatter2d_figure(x.numpy(), y, bundle.class_names, lang=lang()), key="data_points")
        else:
            names = bundle.extras.get("feature_names") or [f"x{i}" for i in range(x.shape[1])]
            frame = pd.DataFrame(x[:10].numpy(), columns=names)
            frame.insert(0, tr("train.col_class"), [bundle.class_names[int(c)] for c in y[:10]])
            st.dataframe(frame.round(2), hide_index=True)
            st.caption(tr("train.tabular_note"))
