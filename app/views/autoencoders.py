"""Autoencoders page (the book's lesson 10): train a dense, convolutional or variational autoencoder in the
background and watch its latent space form; click the space to decode any point; then look at
reconstructions, interpolations, samples, the PCA baseline and anomaly detection.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from app import export_panel, links
from app.state import current_job, lang, start_job, tr
from app.widgets import BATCH_SIZES, pause_stop_buttons, polling_fragment, stale_notice, waiting_notice
from labcore.autoencoders import AUTOENCODERS, AEConfig, AutoencoderJob
from labcore.autoencoders.latent import LatentView, interpolate, reconstruct, sample_grid
from labcore.autoencoders.models import is_variational
from labcore.autoencoders.pca import as_float_images
from labcore.autoencoders.train import corrupt
from labcore.config import DataConfig, TrainConfig
from labcore.data import DATASETS, dataset_info
from labcore.links import AE_BETAS, AE_LRS, AE_WIDTHS
from labcore.viz import image_grid_figure
from labcore.viz.autoencoders import (
    ae_curves_figure,
    anomaly_histogram_figure,
    anomaly_roc_figure,
    latent_scatter_figure,
    reconstruction_grid_figure,
)

POLL_SECONDS = 0.5
JOB_KEY = "ae_job_id"
K = "ae."
ss = st.session_state
IMAGE_SETS = [n for n in DATASETS.names() if dataset_info(n).kind == "image"]
WIDTHS, BETAS = AE_WIDTHS, AE_BETAS
GALLERY = 12
DEFAULTS = {"data": "digits", "model": "dense", "latent": 2, "width": 128, "noise": 0.0, "beta": 0.3,
            "epochs": 60, "lr": 1e-3, "batch": 64, "seed": 0, "holdout": []}

# A link (or the setup this page had when the user left it) goes into the widgets (app/links.py).
LINK_KEYS = {"data.name": "data", "model": "model", "latent_dim": "latent", "width": "width", "noise": "noise",
             "beta": "beta", "train.epochs": "epochs", "lr": "lr", "train.batch_size": "batch", "train.seed": "seed",
             "holdout": "holdout"}
links.setup(links.keys_with_prefix("autoencoders", K, LINK_KEYS))
for name, value in DEFAULTS.items():
    ss.setdefault(K + name, value)


# -- setup and controls ----------------------------------------------------------------------------------
def _on_data() -> None:
    ss[K + "holdout"] = []  # class numbers mean something else in another dataset


def _config() -> AEConfig:
    return AEConfig(data=DataConfig(name=ss[K + "data"]),
                    train=TrainConfig(epochs=int(ss[K + "epochs"]), batch_size=int(ss[K + "batch"]),
                                      seed=int(ss[K + "seed"])),
                    model=ss[K + "model"], latent_dim=int(ss[K + "latent"]), width=int(ss[K + "width"]),
                    lr=float(ss[K + "lr"]), noise=float(ss[K + "noise"]), beta=float(ss[K + "beta"]),
                    holdout=tuple(sorted(ss[K + "holdout"])))


def _sidebar(locked: bool) -> None:
    sb = st.sidebar
    sb.subheader(tr("ui.data"))
    sb.selectbox(tr("ui.dataset"), IMAGE_SETS, key=K + "data", format_func=lambda n: tr(f"datasets.{n}"),
                 on_change=_on_data, disabled=locked)
    if dataset_info(ss[K + "data"]).online:
        sb.caption(tr("ui.needs_download"))
    sb.subheader(tr("ui.model"))
    sb.selectbox(tr("ui.architecture"), AUTOENCODERS.names(), key=K + "model", disabled=locked,
                 format_func=lambda n: tr(f"autoencoders.model_{n}"))
    sb.slider(tr("autoencoders.latent_dim"), 2, 32, key=K + "latent", disabled=locked,
              help=tr("autoencoders.latent_dim_help"))
    sb.select_slider(tr("autoencoders.width"), WIDTHS, key=K + "width", disabled=locked,
                     help=tr("autoencoders.width_help"))
    sb.slider(tr("autoencoders.noise"), 0.0, 0.6, step=0.05, key=K + "noise", disabled=locked,
              help=tr("autoencoders.noise_help"))
    if is_variational(ss[K + "model"]):
        sb.select_slider(tr("autoencoders.beta"), BETAS, key=K + "beta", disabled=locked,
                         format_func=lambda v: f"{v:g}", help=tr("autoencoders.beta_help"))
    sb.subheader(tr("ui.training"))
    sb.slider(tr("ui.epochs"), 5, 300, key=K + "epochs", disabled=locked)
    sb.select_slider(tr("ui.lr"), AE_LRS, key=K + "lr", format_func=lambda v: f"{v:g}", disabled=locked,
                     help=tr("autoencoders.lr_help"))
    sb.select_slider(tr("ui.batch_size"), BATCH_SIZES, key=K + "batch", disabled=locked)
    sb.number_input(tr("ui.seed"), 0, 10_000, key=K + "seed", disabled=locked)
    sb.subheader(tr("autoencoders.anomaly_setup"))
    names = dataset_info(ss[K + "data"]).class_names
    sb.multiselect(tr("autoencoders.holdout"), list(range(len(names))), key=K + "holdout", disabled=locked,
                   format_func=lambda c: names[c], help=tr("autoencoders.holdout_help"),
                   max_selections=len(names) - 1, placeholder=tr("autoencoders.holdout_none"))


def _start(cfg: AEConfig) -> None:
    if start_job(cfg, JOB_KEY, K + "error", AutoencoderJob) is not None:
        for k in ("z1", "z2", "picked", "threshold"):
            ss.pop(K + k, None)


def _on_pick() -> None:
    """A click on the scatter: decode there (a dot also shows the image it came from)."""
    points = ss[K + "scatter"].selection.points
    if not points:
        return
    p = points[-1]
    ss[K + "z1"], ss[K + "z2"] = round(float(p["x"]), 3), round(float(p["y"]), 3)
    index = p.get("customdata")
    index = index[0] if isinstance(index, list) and index else index
    ss[K + "picked"] = int(index) if isinstance(index, int | float) else None


def _on_coordinate() -> None:
    ss[K + "picked"] = None  # typed coordinates are a place, not one of the images


# -- the live panel ---------------------------------------------------------------------------------------
def _decoder_panel(job: AutoencoderJob, view: LatentView) -> None:
    x0, x1, y0, y1 = view.bounds()
    ss.setdefault(K + "z1", round((x0 + x1) / 2, 3))
    ss.setdefault(K + "z2", round((y0 + y1) / 2, 3))
    axis = "pc" if view.projection is not None else "z"
    a, b = st.columns(2)
    a.number_input(tr(f"autoencoders.{axis}_1"), key=K + "z1", step=0.1, format="%.3f", on_change=_on_coordinate)
    b.number_input(tr(f"autoencoders.{axis}_2"), key=K + "z2", step=0.1, format="%.3f", on_change=_on_coordinate)
    decoded = view.decode_xy([ss[K + "z1"], ss[K + "z2"]])
    images, titles = [decoded[0]], [tr("autoencoders.decoded")]
    picked = ss.get(K + "picked")
    if picked is not None and job.display is not None and picked < len(job.display[0]):
        images.insert(0, job.display[0][picked].numpy())
        titles.insert(0, tr("autoencoders.original"))
    st.plotly_chart(image_grid_figure(np.stack(images), titles=titles, cols=2, lang=lang(), height=170),
                    key=K + "decoded", config={"displayModeBar": False})
    st.caption(tr("autoencoders.decode_help_projected" if view.projection is not None else "autoencoders.decode_help"))
    if job.status == "running":
        st.caption(tr("autoencoders.decode_while_training"))


def _live(job: AutoencoderJob | None) -> None:
    if job is None:
        st.info(tr("autoencoders.press_train"))
        left, right = st.columns([3, 2])
        left.plotly_chart(latent_scatter_figure(np.zeros((0, 2)), np.zeros(0), [], lang=lang()), key=K + "scatter")
        right.plotly_chart(ae_curves_figure([], lang=lang()), key=K + "curves")
        return
    p = job.progress()
    frac = p["step"] / p["total_steps"] if p["total_steps"] else 0.0
    eta = "–" if not math.isfinite(p["eta_s"]) else f"{p['eta_s']:.0f} s"
    if not waiting_notice(job):
        st.progress(min(1.0, frac), text=tr("train.progress", status=tr(f"status.{job.status}"), epoch=p["epoch"],
                                            epochs=p["epochs"], step=p["step"], total=p["total_steps"],
                                            speed=p["samples_per_s"], eta=eta))
    view, cfg = job.latest(), job.config
    names = dataset_info(cfg.data.name, cfg.data).class_names
    left, right = st.columns([3, 2])
    with left:
        if view is None:
            st.plotly_chart(latent_scatter_figure(np.zeros((0, 2)), np.zeros(0), names, lang=lang()), key=K + "scatter")
        else:
            picked = (ss[K + "z1"], ss[K + "z2"]) if K + "z1" in ss else None
            title = tr("autoencoders.scatter_title", epoch=view.epoch, k=view.latent_dim)
            fig = latent_scatter_figure(view.points, view.labels, names, held_out=cfg.holdout, bounds=view.bounds(),
                                        picked=picked, axes=_axes(view), title=title,
                                        lang=lang())
            st.plotly_chart(fig, key=K + "scatter", on_select=_on_pick, selection_mode="points",
                            config={"displaylogo": False})
    with right:
        _, epochs = job.snapshot()
        st.plotly_chart(ae_curves_figure(epochs, pca_recon=job.pca_val_recon, variational=is_variational(cfg.model),
                                         lang=lang()), key=K + "curves")
        if view is not None:
            _decoder_panel(job, view)


# -- after the run -------------------------------------------------------------------------------------------
def _reconstructions(job: AutoencoderJob, view: LatentView) -> None:
    out, cfg = job.outcome, job.config
    a, b = st.columns(2)
    a.metric(tr("autoencoders.ae_test_mse"), f"{out.test_recon:.4f}")
    b.metric(tr("autoencoders.pca_test_mse", k=cfg.latent_dim), f"{out.pca_test_recon:.4f}",
             delta=tr("autoencoders.pca_vs_ae", ratio=out.pca_test_recon / max(out.test_recon, 1e-12)),
             delta_color="off", delta_arrow="off")
    noise = st.slider(tr("autoencoders.test_noise"), 0.0, 0.6, value=float(cfg.noise), step=0.05, key=K + "test_noise",
                      help=tr("autoencoders.test_noise_help"))
    x, y = job.display[0][:GALLERY], job.display[1][:GALLERY]
    noisy = corrupt(x, noise, seed=0)
    fig = reconstruction_grid_figure(x.numpy(), reconstruct(view.model, noisy), noisy=noisy.numpy() if noise > 0 else None,
                                     pca=job.pca.reconstruct(noisy), class_names=_names(job), labels=y.tolist(),
                                     lang=lang())
    st.plotly_chart(fig, key=K + "gallery", config={"displayModeBar": False})
    st.caption(tr("autoencoders.gallery_help"))


def _interpolation(job: AutoencoderJob, view: LatentView) -> None:
    x, y = job.display
    names, n = _names(job), min(len(y), 60)
    options = list(range(n))
    first = int(np.argmax(y[:n].numpy() != int(y[0])))  # a second image of another class
    a, b, c = st.columns([2, 2, 1])
    i = a.selectbox(tr("autoencoders.from_image"), options, index=0, key=K + "from",
                    format_func=lambda j: tr("autoencoders.image_option", n=j, name=names[int(y[j])]))
    j = b.selectbox(tr("autoencoders.to_image"), options, index=first, key=K + "to",
                    format_func=lambda j: tr("autoencoders.image_option", n=j, name=names[int(y[j])]))
    steps = c.slider(tr("autoencoders.steps"), 3, 16, value=10, key=K + "steps")
    latent, blend = interpolate(view.model, x[i], x[j], steps)
    titles = [tr("autoencoders.latent_row")] + [""] * (steps - 1) + [tr("autoencoders.blend_row")] + [""] * (steps - 1)
    st.plotly_chart(image_grid_figure(np.concatenate([latent, blend]), titles=titles, cols=steps, lang=lang()),
                    key=K + "interpolation", config={"displayModeBar": False})
    st.caption(tr("autoencoders.interpolation_help"))


def _samples(job: AutoencoderJob, view: LatentView) -> None:
    seed = st.session_state.setdefault(K + "sample_seed", 0)
    images = sample_grid(view.model, 10, codes=view.codes, seed=seed)
    st.plotly_chart(image_grid_figure(images, cols=10, lang=lang()), key=K + "samples", config={"displayModeBar": False})
    vae, flat = view.model.variational, view.latent_dim == 2
    st.caption(tr(f"autoencoders.samples_{'vae' if vae else 'ae'}_{'grid' if flat else 'random'}"))
    if not flat:
        st.button(tr("autoencoders.new_samples"), key=K + "resample", icon=":material/casino:",
                  on_click=lambda: ss.update({K + "sample_seed": seed + 1}))


def _pca(job: AutoencoderJob, view: LatentView) -> None:
    names, cfg = _names(job), job.config
    pca_points = job.pca.encode(job.display[0])[:, :2]
    a, b = st.columns(2)
    a.plotly_chart(latent_scatter_figure(view.points, view.labels, names, held_out=cfg.holdout,
                                         axes=_axes(view), lang=lang(), height=420,
                                         title=tr("autoencoders.ae_map", k=cfg.latent_dim)), key=K + "ae_map")
    b.plotly_chart(latent_scatter_figure(pca_points, view.labels, names, held_out=cfg.holdout, axes="pc",
                                         lang=lang(), height=420, title=tr("autoencoders.pca_map", k=job.pca.k,
                                                                            var=job.pca.explained_variance)),
                   key=K + "pca_map")
    st.markdown(tr("autoencoders.pca_verdict", ae=job.outcome.test_recon, pca=job.outcome.pca_test_recon,
                   k=cfg.latent_dim))
    st.caption(tr("autoencoders.pca_help"))


def _anomalies(job: AutoencoderJob) -> None:
    scores, names = job.outcome.scores, _names(job)
    if not scores.has_both:
        st.info(tr("autoencoders.anomaly_needs_holdout"), icon=":material/info:")
        return
    held = ", ".join(names[c] for c in job.config.holdout)
    st.markdown(tr("autoencoders.anomaly_intro", held=held))
    lo, hi = float(scores.errors.min()), float(scores.errors.max())
    ss.setdefault(K + "threshold", min(max(scores.default_threshold(), lo), hi))
    threshold = st.slider(tr("autoencoders.threshold"), lo, hi, key=K + "threshold", format="%.4f",
                          step=max((hi - lo) / 200, 1e-6), help=tr("autoencoders.threshold_help"))
    at = scores.at(threshold)
    cols = st.columns(4)
    cols[0].metric(tr("autoencoders.flagged"), f"{at['flagged']}")
    cols[1].metric(tr("autoencoders.detected"), f"{at['recall']:.0%}", help=tr("autoencoders.detected_help"))
    cols[2].metric(tr("autoencoders.false_alarms"), f"{at['false_alarm_rate']:.0%}",
                   help=tr("autoencoders.false_alarms_help"))
    cols[3].metric(tr("autoencoders.precision"), "–" if math.isnan(at["precision"]) else f"{at['precision']:.0%}")
    fpr, tpr, _, auc = scores.roc()
    a, b = st.columns([3, 2])
    a.plotly_chart(anomaly_histogram_figure(scores.errors, scores.is_anomaly, threshold, lang=lang()), key=K + "hist")
    pca_fpr, pca_tpr, _, pca_auc = job.outcome.pca_scores.roc()
    b.plotly_chart(anomaly_roc_figure(fpr, tpr, auc, point=(at["false_alarm_rate"], at["recall"]),
                                      pca_roc=(pca_fpr, pca_tpr, pca_auc), lang=lang()), key=K + "roc")
    st.caption(tr("autoencoders.anomaly_auc", auc=auc, pca_auc=job.outcome.pca_auc))
    worst = np.argsort(-scores.errors)[:GALLERY]
    data = job.trainer.data
    x = as_float_images(data.x_test[worst])
    titles = [names[int(data.y_test[i])] for i in worst]
    colors = ["#D62728" if scores.is_anomaly[i] else "#2CA02C" for i in worst]
    st.markdown(tr("autoencoders.worst"))
    st.plotly_chart(image_grid_figure(x.numpy(), titles=titles, title_colors=colors, cols=GALLERY, lang=lang()),
                    key=K + "worst", config={"displayModeBar": False})


def _axes(view: LatentView) -> str:
    return "z" if view.projection is None else "codes_pc"


def _names(job: AutoencoderJob) -> list[str]:
    return list(dataset_info(job.config.data.name, job.config.data).class_names)


def _results(job: AutoencoderJob) -> None:
    if job.error is not None:
        (st.error if job.status == "failed" else st.warning)(job.error.message(lang()))
    elif job.status == "stopped":
        st.info(tr("autoencoders.stopped_note"), icon=":material/stop_circle:")
    view = job.latest()
    if job.outcome is None or view is None:
        return
    tabs = st.tabs([tr(f"autoencoders.tab_{n}") for n in ("gallery", "interpolate", "samples", "pca", "anomaly")])
    for tab, panel in zip(tabs, (_reconstructions, _interpolation, _samples, _pca), strict=False):
        with tab:
            panel(job, view)
    with tabs[4]:
        _anomalies(job)
    export_panel.autoencoder(job, K + "export")


# -- the page ---------------------------------------------------------------------------------------------
job = current_job(JOB_KEY)
active = job is not None and not job.done
_sidebar(locked=active)
cfg = _config()
links.publish()

st.title(tr("autoencoders.title"))
st.caption(tr("autoencoders.intro"))
cols = st.columns([1.2, 1, 1, 4], vertical_alignment="bottom")
cols[0].button(tr("train.train"), type="primary", on_click=_start, args=(cfg,), disabled=active, key=K + "btn_train",
               icon=":material/play_arrow:", width="stretch")
pause_stop_buttons(cols[1], cols[2], job, K)
cols[3].caption(tr(f"autoencoders.about_{'vae' if is_variational(cfg.model) else 'ae'}"))
if K + "error" in ss:
    st.warning(ss[K + "error"])
stale_notice(job, cfg)


# Paused: nothing changes, so the map stays still and a click on it lands (a redraw would swallow it).
@polling_fragment(POLL_SECONDS if active and job.status != "paused" else None)
def live_panel() -> None:
    j = current_job(JOB_KEY)
    _live(j)
    if active and j is not None and j.done:
        st.rerun()  # one full rerun: buttons unlock and the result tabs appear


live_panel()

if job is not None and job.done:
    _results(job)
elif active:
    st.caption(tr("autoencoders.results_after"))
