"""Transfer learning page: a pretrained backbone vs training from scratch, raced live on the same batches, on
built-in pairs, online sets or your own images (a zip, files per class, webcam shots).

labcore.transfer does the work; this page gathers the setup, starts a `TransferJob`, polls it, and shows the
curves, the table, the feature view and the downloads.
"""

from __future__ import annotations

import hashlib
import math
from functools import partial

import streamlit as st
import torch

from app import links
from app.state import current_job, lang, lease, start_job, tr
from app.widgets import pause_stop_buttons, polling_fragment, stale_notice, waiting_notice
from labcore.config import TrainConfig
from labcore.data.images import IMAGE_SUFFIXES, UPLOAD_MB, uploader_types
from labcore.i18n import LabError
from labcore.links import TRANSFER_BATCHES, TRANSFER_FACTORS, TRANSFER_LRS, TRANSFER_SIZES
from labcore.transfer.backbones import BACKBONES
from labcore.transfer.embed import METHODS, embeddings, project, sample
from labcore.transfer.estimate import StepCost, measure, race_seconds
from labcore.transfer.export import FORMATS, SUFFIX, export
from labcore.transfer.job import TransferConfig, TransferJob, as_float, tied_with, verdict
from labcore.transfer.strategies import STRATEGIES
from labcore.transfer.targets import LABELS_PER_CLASS, TARGETS, load_target
from labcore.transfer.uploads import ACCEPTED, bundle_from_files, bundle_from_zip
from labcore.transfer.weights import (
    check_weights_file,
    checkpoint_path,
    download_help,
    find_checkpoint,
    server_files,
    weights_status,
)
from labcore.viz import image_grid_figure
from labcore.viz.transfer import embedding_figure, results_frame, transfer_curves_figure

POLL_SECONDS = 0.5
JOB_KEY = "tl_job_id"
UPLOAD = "upload"
LRS, FACTORS, BATCHES, SIZES = TRANSFER_LRS, TRANSFER_FACTORS, TRANSFER_BATCHES, TRANSFER_SIZES
TINY_TEST = 30  # fewer test images than this: one image moves the accuracy by more than 3 points
UPLOAD_SIZE = 96  # your images are stored at this size; the backbone's wrapper resizes again
ss = st.session_state

DEFAULTS = {"tl.backbone": "lab_digits", "tl.target": "digits_5_9", "tl.labels": 5, "tl.strategies": list(STRATEGIES),
            "tl.unfreeze": 2, "tl.gradual": False, "tl.lr": 1e-2, "tl.factor": 0.1, "tl.scratch_lr": 1e-3,
            "tl.epochs": 30, "tl.batch": 16, "tl.seed": 0, "tl.size": 64}
# A link (or the setup this page had when the user left it) goes into the widgets (app/links.py).
LINK_KEYS = {"target": "target", "labels_per_class": "labels", "backbone": "backbone", "image_size": "size",
             "strategies": "strategies", "unfreeze": "unfreeze", "gradual": "gradual", "lr": "lr",
             "backbone_lr_factor": "factor", "scratch_lr": "scratch_lr",
             "train.epochs": "epochs", "train.batch_size": "batch", "train.seed": "seed"}
links.setup(links.keys_with_prefix("transfer", "tl.", LINK_KEYS))
for k, v in DEFAULTS.items():
    ss.setdefault(k, v)


# -- callbacks ------------------------------------------------------------------------------------------------------
def _on_target() -> None:
    if ss["tl.target"] != UPLOAD:  # each built-in target comes with the backbone that suits it
        ss["tl.backbone"] = TARGETS.get(ss["tl.target"]).backbone


def _domain_gap() -> None:  # every label: from scratch then learns the shapes well, and the digits backbone hurts
    ss["tl.target"], ss["tl.backbone"], ss["tl.labels"] = "shapes_all", "lab_digits", 0


def _start(cfg: TransferConfig) -> None:
    data = ss.get("tl.upload_bundle") if cfg.target == UPLOAD else None
    if cfg.target == UPLOAD and data is None:
        ss["tl.error"] = tr("transfer.upload_first")
        return
    user_state = ss.get("tl.user_state", {}).get(cfg.backbone)
    if start_job(cfg, JOB_KEY, "tl.error", partial(TransferJob, data=data, user_state=user_state)) is not None:
        ss.pop("tl.embed", None)


# -- sidebar ----------------------------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _n_blocks(backbone: str) -> int:
    return len(BACKBONES.get(backbone).build()[2])


def _weights_sidebar(backbone: str) -> None:
    sb = st.sidebar
    status = weights_status(backbone)
    spec = BACKBONES.get(backbone)
    if status == "lab":
        sb.caption(tr("transfer.weights_lab", source=tr(f"transfer.source_{spec.source}")))
        return
    if backbone in ss.get("tl.user_state", {}):
        sb.success(tr("transfer.weights_user"), icon=":material/upload_file:")
    elif status == "cached":
        sb.caption(tr("transfer.weights_cached", path=str(find_checkpoint(backbone))))
    else:
        sb.warning(tr("transfer.weights_missing", path=str(checkpoint_path(backbone))), icon=":material/cloud_download:")
        with sb.expander(tr("transfer.weights_where_title"), icon=":material/help:"):
            st.markdown(tr("transfer.weights_where", path=str(checkpoint_path(backbone)), **download_help(backbone)))
        _server_weights(backbone)
    upload = sb.file_uploader(tr("transfer.weights_upload"), type=["pth", "pt", "bin"], key=f"tl.weights.{backbone}",
                              help=tr("transfer.weights_upload_help"), max_upload_size=UPLOAD_MB)
    sb.caption(tr("transfer.upload.refused_in_browser", mb=UPLOAD_MB))
    refused = ss.setdefault("tl.weights_refused", {})  # backbone -> (digest, message): a bad file is read once
    if upload is None:
        refused.pop(backbone, None)  # no stale message once the file is gone (or refused by the browser)
        return
    digest = hashlib.sha1(upload.getvalue()).hexdigest()
    if ss.get("tl.weights_digest", {}).get(backbone) != digest and refused.get(backbone, ("",))[0] != digest:
        try:
            state = check_weights_file(backbone, upload.getvalue(), owner=lease().owner)
            ss.setdefault("tl.user_state", {})[backbone] = state
            ss.setdefault("tl.weights_digest", {})[backbone] = digest
            refused.pop(backbone, None)
            st.rerun()
        except LabError as e:
            refused[backbone] = (digest, tr("transfer.upload.file_error", name=upload.name, message=e.message(lang())))
    if refused.get(backbone, ("",))[0] == digest:
        sb.error(refused[backbone][1], icon=":material/block:")


def _use_server_file(backbone: str) -> None:
    name = ss.get(f"tl.server_weights.{backbone}")
    path = server_files().get(name) if name else None
    if path is None:
        return
    try:
        ss.setdefault("tl.user_state", {})[backbone] = check_weights_file(backbone, path.read_bytes(), owner=lease().owner)
        ss.setdefault("tl.server_refused", {}).pop(backbone, None)
    except (LabError, OSError) as e:
        message = e.message(lang()) if isinstance(e, LabError) else str(e)
        ss.setdefault("tl.server_refused", {})[backbone] = tr("transfer.upload.file_error", name=name, message=message)


def _server_weights(backbone: str) -> None:
    """A weights file the teacher put in the server's weights folders (no upload limit: VGG-16's is 528 MB)."""
    files = server_files()
    if not files:
        return
    st.sidebar.selectbox(tr("transfer.weights_server"), list(files), index=None, key=f"tl.server_weights.{backbone}",
                         on_change=_use_server_file, args=(backbone,), help=tr("transfer.weights_server_help"))
    if backbone in ss.get("tl.server_refused", {}):
        st.sidebar.error(ss["tl.server_refused"][backbone], icon=":material/block:")


def _sidebar(locked: bool) -> TransferConfig:
    sb = st.sidebar
    sb.subheader(tr("transfer.sidebar_data"))
    sb.selectbox(tr("transfer.target"), [*TARGETS.names(), UPLOAD], key="tl.target", on_change=_on_target,
                 format_func=lambda n: tr(f"transfer.target_{n}"), disabled=locked)
    sb.select_slider(tr("transfer.labels"), LABELS_PER_CLASS, key="tl.labels", disabled=locked,
                     format_func=lambda k: tr("transfer.labels_all") if k == 0 else str(k), help=tr("transfer.labels_help"))
    sb.subheader(tr("transfer.sidebar_backbone"))
    sb.selectbox(tr("transfer.backbone"), BACKBONES.names(), key="tl.backbone", disabled=locked,
                 format_func=lambda n: tr(f"transfer.backbone_{n}"))
    backbone = ss["tl.backbone"]
    spec = BACKBONES.get(backbone)
    _weights_sidebar(backbone)
    size = 0
    if spec.torchvision:
        sb.select_slider(tr("transfer.size"), SIZES, key="tl.size", disabled=locked, help=tr("transfer.size_help"))
        size = int(ss["tl.size"])
    sb.subheader(tr("transfer.sidebar_strategies"))
    sb.multiselect(tr("transfer.strategies"), list(STRATEGIES), key="tl.strategies", disabled=locked,
                   format_func=lambda s: tr(f"transfer.strategy_{s}"))
    n_blocks = _n_blocks(backbone)
    ss["tl.unfreeze"] = min(ss["tl.unfreeze"], n_blocks)
    sb.slider(tr("transfer.unfreeze"), 1, n_blocks, key="tl.unfreeze", disabled=locked, help=tr("transfer.unfreeze_help"))
    sb.toggle(tr("transfer.gradual"), key="tl.gradual", disabled=locked, help=tr("transfer.gradual_help"))
    sb.select_slider(tr("transfer.lr"), LRS, key="tl.lr", format_func=lambda v: f"{v:g}", disabled=locked)
    sb.select_slider(tr("transfer.factor"), FACTORS, key="tl.factor", format_func=lambda v: f"× {v:g}",
                     disabled=locked, help=tr("transfer.factor_help"))
    if "scratch" in ss["tl.strategies"]:
        sb.select_slider(tr("transfer.scratch_lr"), LRS, key="tl.scratch_lr", format_func=lambda v: f"{v:g}",
                         disabled=locked, help=tr("transfer.scratch_lr_help"))
    sb.subheader(tr("ui.training"))
    sb.slider(tr("ui.epochs"), 1, 100, key="tl.epochs", disabled=locked)
    sb.select_slider(tr("ui.batch_size"), BATCHES, key="tl.batch", disabled=locked)
    sb.number_input(tr("ui.seed"), 0, 10_000, key="tl.seed", disabled=locked)
    return TransferConfig(target=ss["tl.target"], labels_per_class=int(ss["tl.labels"]), backbone=backbone,
                          strategies=tuple(s for s in STRATEGIES if s in ss["tl.strategies"]), image_size=size,
                          unfreeze=int(ss["tl.unfreeze"]), gradual=bool(ss["tl.gradual"]), lr=float(ss["tl.lr"]),
                          backbone_lr_factor=float(ss["tl.factor"]), scratch_lr=float(ss["tl.scratch_lr"]),
                          train=TrainConfig(epochs=int(ss["tl.epochs"]), batch_size=int(ss["tl.batch"]),
                                            seed=int(ss["tl.seed"])))


# -- how long it will take -------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def _target_shape(target: str, labels: int, seed: int) -> tuple[dict[str, int], int, int] | None:
    """(split sizes, channels, classes) of a built-in target; None when it is not on this computer."""
    try:
        data = load_target(target, labels, seed)
    except LabError:
        return None
    return data.sizes(), data.input_shape[0], data.num_classes


@st.cache_data(show_spinner=False, max_entries=32)
def _cost(backbone: str, channels: int, classes: int, size: int, batch: int) -> StepCost:
    return measure(backbone, in_channels=channels, num_classes=classes, size=size, batch=batch)


def _estimate(cfg: TransferConfig) -> None:
    """Say before Start how long the race will take on this computer; warn above a minute."""
    if cfg.target == UPLOAD:
        bundle = ss.get("tl.upload_bundle")
        shape = None if bundle is None else (bundle.sizes(), bundle.input_shape[0], bundle.num_classes)
    else:
        shape = _target_shape(cfg.target, cfg.labels_per_class, cfg.train.seed)
    if shape is None or not cfg.strategies:
        return
    sizes, channels, classes = shape
    try:
        with st.spinner(tr("transfer.estimating")):
            cost = _cost(cfg.backbone, channels, classes, cfg.image_size, cfg.train.batch_size)
    except (LabError, RuntimeError):  # a backbone that cannot be built here: the run will say why
        return
    seconds = race_seconds(cost, cfg.strategies, cfg.train.epochs, sizes)
    if seconds > 60:
        st.warning(tr("transfer.estimate_long", minutes=seconds / 60), icon=":material/schedule:")
    else:
        st.caption(tr("transfer.estimate", seconds=max(1, round(seconds))))


# -- your own images --------------------------------------------------------------------------------------------------
def _use(result, source: str) -> None:
    bundle, report = result
    ss["tl.upload_bundle"], ss["tl.upload_report"], ss["tl.upload_source"] = bundle, report, source


def _clear_error(source: str) -> None:
    """A new (or no) file from `source`: the message about its previous file must not stay on screen."""
    if ss.get("tl.upload_error_source") == source:
        for k in ("tl.upload_error", "tl.upload_error_source", "tl.upload_unreadable"):
            ss.pop(k, None)


def _ingest(fn, *args, source: str, file: str = "", **kwargs) -> None:
    try:
        with st.spinner(tr("transfer.reading")):
            _use(fn(*args, size=UPLOAD_SIZE, owner=lease().owner, **kwargs), source)
        for k in ("tl.upload_error", "tl.upload_error_source", "tl.upload_unreadable"):
            ss.pop(k, None)
    except LabError as e:
        message = tr("transfer.upload.file_error", name=file, message=e.message(lang())) if file else e.message(lang())
        ss["tl.upload_error"], ss["tl.upload_error_source"] = message, source  # names its file: a file the browser
        # refused next to it (over the limit, which the page never sees) is not mistaken for the one refused here
        report = getattr(e, "report", None)  # UploadRefused: which files could not be read, and why
        ss["tl.upload_unreadable"] = report.unreadable(lang()) if report is not None else []
        ss.pop("tl.upload_bundle", None)
        ss.pop("tl.upload_report", None)


def _zip_tab() -> None:
    st.caption(tr("transfer.zip_help"))
    upload = st.file_uploader(tr("transfer.zip"), type=["zip"], key="tl.zip", max_upload_size=UPLOAD_MB,
                              help=tr("transfer.upload.limit", mb=UPLOAD_MB))
    st.caption(tr("transfer.upload.refused_in_browser", mb=UPLOAD_MB))
    if upload is None:  # removed: its message goes with it
        ss.pop("tl.zip_digest", None)
        _clear_error("zip")
        return
    digest = hashlib.sha1(upload.getvalue()).hexdigest()
    if ss.get("tl.zip_digest") != digest:  # read each new zip once, not on every rerun
        ss["tl.zip_digest"] = digest
        _clear_error("zip")
        _ingest(bundle_from_zip, upload.getvalue(), source="zip", file=upload.name)


def _files_tab() -> None:
    st.caption(tr("transfer.files_help"))
    st.caption(tr("transfer.upload.limit_files", mb=UPLOAD_MB, accepted=ACCEPTED))
    n = st.number_input(tr("transfer.n_classes"), 2, 10, 2, key="tl.n_classes")
    by_class: dict[str, list[tuple[str, bytes]]] = {}
    chosen: list[tuple[str, str]] = []  # what is chosen now: a change makes the last message stale
    cols = st.columns(min(int(n), 4))
    for i in range(int(n)):
        with cols[i % len(cols)]:
            name = st.text_input(tr("transfer.class_name", n=i + 1), f"class {i + 1}", key=f"tl.cls_name.{i}")
            files = st.file_uploader(tr("transfer.class_files"), type=uploader_types(IMAGE_SUFFIXES),
                                     accept_multiple_files=True, key=f"tl.cls_files.{i}", max_upload_size=UPLOAD_MB,
                                     help=tr("transfer.upload.limit_files", mb=UPLOAD_MB, accepted=ACCEPTED))
            if files:
                by_class.setdefault(name, []).extend((f.name, f.getvalue()) for f in files)
                chosen += [(name, f.file_id) for f in files]
    if ss.get("tl.files_chosen") != chosen:
        ss["tl.files_chosen"] = chosen
        _clear_error("files")
    if st.button(tr("transfer.use_files"), key="tl.use_files", icon=":material/check:", disabled=not by_class):
        _ingest(bundle_from_files, by_class, source="files")


def _webcam_tab() -> None:
    st.caption(tr("transfer.webcam_help"))
    names = [c.strip() for c in st.text_input(tr("transfer.webcam_classes"), "A, B", key="tl.cam_names").split(",")]
    names = [c for c in dict.fromkeys(names) if c]
    shots: dict[str, list[tuple[str, bytes]]] = ss.setdefault("tl.shots", {})
    if not names:
        return
    left, right = st.columns([1, 2])
    cls = left.radio(tr("transfer.webcam_class"), names, key="tl.cam_class")
    for c in names:
        left.caption(tr("transfer.webcam_count", name=c, n=len(shots.get(c, []))))
    if left.button(tr("transfer.webcam_clear"), key="tl.cam_clear", icon=":material/delete:"):
        ss["tl.shots"] = {}
    shot = right.camera_input(tr("transfer.webcam_take"), key="tl.camera")
    if shot is not None and shot.file_id != ss.get("tl.last_shot"):
        ss["tl.last_shot"] = shot.file_id  # each capture counts once, however often the page reruns
        shots.setdefault(cls, []).append((f"{cls}-{len(shots.get(cls, []))}.jpg", shot.getvalue()))
        _clear_error("webcam")
        st.rerun()
    ready = {c: shots[c] for c in names if shots.get(c)}
    if left.button(tr("transfer.use_shots"), key="tl.use_shots", icon=":material/check:", disabled=len(ready) < 2):
        _ingest(bundle_from_files, ready, source="webcam")


def _own_images() -> None:
    st.subheader(tr("transfer.own_title"))
    tabs = st.tabs([tr("transfer.tab_zip"), tr("transfer.tab_files"), tr("transfer.tab_webcam")])
    with tabs[0]:
        _zip_tab()
    with tabs[1]:
        _files_tab()
    with tabs[2]:
        _webcam_tab()
    if "tl.upload_error" in ss:
        st.error(ss["tl.upload_error"], icon=":material/block:")
        if ss.get("tl.upload_unreadable"):
            with st.expander(tr("transfer.upload.unreadable_title", n=len(ss["tl.upload_unreadable"]))):
                st.code("\n".join(ss["tl.upload_unreadable"][:200]), language=None)
    report = ss.get("tl.upload_report")
    if report is None:
        return
    bundle = ss["tl.upload_bundle"]
    st.success(tr("transfer.upload_ok", n=report.total, k=len(report.counts), **bundle.sizes()),
               icon=":material/photo_library:")
    counts = ", ".join(f"{c}: {n}" for c, n in report.counts.items())
    st.caption(tr("transfer.upload_counts", counts=counts))
    if report.skipped:
        with st.expander(tr("transfer.upload_skipped", n=len(report.skipped))):
            st.caption(tr("transfer.upload.accepted", accepted=ACCEPTED))
            st.code("\n".join(report.skipped[:200]), language=None)
    if report.corrupt:
        with st.expander(tr("transfer.upload_corrupt", n=len(report.corrupt))):
            st.code("\n".join(report.unreadable(lang())[:200]), language=None)
    preview = torch.cat([bundle.x_train[bundle.y_train == k][:4] for k in range(bundle.num_classes)])[:24]
    st.plotly_chart(image_grid_figure(preview.numpy(), cols=12, lang=lang(), height=140), key="tl.upload_preview")


# -- results ------------------------------------------------------------------------------------------------------------
def _feature_view(job: TransferJob) -> None:
    st.subheader(tr("transfer.features_title"))
    st.caption(tr("transfer.features_help"))
    c = st.columns([1, 1, 3], vertical_alignment="bottom")
    method = c[0].segmented_control(tr("transfer.projection"), list(METHODS), default="pca", key="tl.method",
                                    format_func=lambda m: tr(f"transfer.method_{m}")) or "pca"
    if c[1].button(tr("transfer.features_go"), key="tl.embed_go", icon=":material/scatter_plot:"):
        ss["tl.embed"] = (job.id, method)
    if ss.get("tl.embed", (None,))[0] != job.id:  # asked once for this run: a switch of method redraws at once
        return
    ss["tl.embed"] = (job.id, method)
    cache = ss.setdefault("tl.embed_cache", {})
    if (job.id, method) not in cache:
        with st.spinner(tr("transfer.computing")):
            data = job.trainer.data
            idx = torch.from_numpy(sample(len(data.y_test)))
            x = data.x_test[idx]
            torch.set_num_threads(1)
            after_net = job.race.lanes.get("finetune", job.race.lanes.get("scratch"))
            panels = [(tr("transfer.before"), project(embeddings(job.race.pretrained, x), method))]
            if after_net is not None:
                title = tr("transfer.after", strategy=tr(f"transfer.strategy_{after_net.strategy}"))
                panels.append((title, project(embeddings(after_net.net, x), method)))
            for k in [k for k in cache if k[0] != job.id]:  # keep this run's (both methods): a session may run many
                del cache[k]
            cache[(job.id, method)] = (panels, data.y_test[idx].numpy(), idx.numpy())
    panels, labels, idx = cache[(job.id, method)]
    chart, picked = st.columns([4, 1])
    chart.plotly_chart(embedding_figure(panels, labels, job.trainer.data.class_names, index=idx, lang=lang()),
                       key="tl.embed_fig", on_select="rerun", selection_mode="points", config={"displaylogo": False})
    _picked_image(picked, job)


def _picked_image(col, job: TransferJob) -> None:
    """The image behind the dot a student clicked (the TensorBoard projector shows it on hover; plotly's hover
    cannot hold an image, a click can)."""
    state = ss.get("tl.embed_fig")
    points = state.selection.points if state is not None else []
    custom = points[-1].get("customdata") if points else None
    i = custom[0] if isinstance(custom, list) and custom else custom
    data = job.trainer.data
    if not isinstance(i, int | float) or not 0 <= int(i) < len(data.y_test):
        col.caption(tr("transfer.pick_a_dot"))
        return
    i = int(i)
    image = as_float(data.x_test[i : i + 1])[0].clamp(0, 1).permute(1, 2, 0).numpy()
    col.image(image if image.shape[2] == 3 else image[..., 0], width="stretch")
    col.caption(tr("transfer.picked", index=i, label=data.class_names[int(data.y_test[i])]))


def _downloads(job: TransferJob) -> None:
    st.subheader(tr("transfer.export_title"))
    st.caption(tr("transfer.export_help", strategy=tr(f"transfer.strategy_{job.best.strategy}")))
    model, shape = job.trainer.model, job.trainer.data.input_shape
    cols = st.columns(len(FORMATS))
    for col, fmt in zip(cols, FORMATS, strict=True):
        def data(fmt: str = fmt) -> bytes:  # built only when clicked
            return export(model, fmt, shape)

        col.download_button(tr(f"transfer.export_{fmt}"), data, file_name=f"transfer-{job.id}.{SUFFIX[fmt]}",
                            key=f"tl.dl.{fmt}", on_click="ignore", icon=":material/download:", width="stretch")


def _results(job: TransferJob) -> None:
    if job.error is not None:
        (st.error if job.status == "failed" else st.warning)(job.error.message(lang()))
        return
    if job.status == "stopped":
        st.info(tr("transfer.stopped_note"), icon=":material/stop_circle:")
    if not job.results:
        return
    st.subheader(tr("transfer.results_title"))
    sizes = job.trainer.data.sizes()
    st.caption(tr("transfer.counts", **sizes))
    if sizes["test"] < TINY_TEST:
        st.warning(tr("transfer.tiny_test", test=sizes["test"], points=100 / max(sizes["test"], 1)),
                   icon=":material/warning:")
    frame = results_frame(job.results, job.best.strategy if job.best else None, lang=lang())
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        tr("transfer.col_test_acc"): st.column_config.NumberColumn(format="percent"),
        tr("transfer.col_val_acc"): st.column_config.NumberColumn(format="percent"),
        tr("transfer.col_seconds"): st.column_config.NumberColumn(format="%.2f s"),
        tr("transfer.col_share"): st.column_config.NumberColumn(format="percent"),
    })
    if job.best is None:
        return
    st.markdown(tr("transfer.verdict", strategy=tr(f"transfer.strategy_{job.best.strategy}"),
                   acc=job.best.test_accuracy, seconds=job.best.seconds))
    tied = tied_with(job.best, job.results)
    if tied:  # say how the tie was broken: not by the order of the table
        st.caption(tr("transfer.tie_note", strategy=tr(f"transfer.strategy_{job.best.strategy}"),
                      others=", ".join(tr(f"transfer.strategy_{r.strategy}") for r in tied),
                      acc=job.best.val_accuracy, loss=job.best.val_loss,
                      losses=", ".join(f"{r.val_loss:.3f}" for r in tied)))
    kind, points = verdict(job.results, job.trainer.data.num_classes)
    if kind == "nothing":  # comparing strategies that all guess would teach noise
        st.warning(tr("transfer.gain_nothing", chance=points), icon=":material/help:")
    elif kind:
        st.info(tr(f"transfer.gain_{kind}", gain=points), icon=":material/lightbulb:")
    st.page_link("views/try_it.py", label=tr("transfer.try_link"), icon=":material/touch_app:")
    st.page_link("views/explain.py", label=tr("transfer.explain_link"), icon=":material/visibility:")
    _feature_view(job)
    _downloads(job)


# -- the page -----------------------------------------------------------------------------------------------------------
torch.set_num_threads(1)  # this script's thread: the training thread gets the cores
job = current_job(JOB_KEY)
active = job is not None and not job.done

st.title(tr("transfer.title"))
st.caption(tr("transfer.intro"))
cfg = _sidebar(active)
links.publish()
with st.expander(tr("transfer.how_title"), icon=":material/school:"):
    st.markdown(tr("transfer.how"))
with st.expander(tr("transfer.challenge_title"), icon=":material/flag:"):
    st.markdown(tr("transfer.challenge"))
    st.button(tr("transfer.challenge_go"), on_click=_domain_gap, key="tl.gap", disabled=active)

spec = BACKBONES.get(cfg.backbone)
st.markdown(tr("transfer.recipe", backbone=tr(f"transfer.backbone_{cfg.backbone}"),
               target=tr(f"transfer.target_{cfg.target}"),
               labels=tr("transfer.labels_all") if cfg.labels_per_class == 0 else cfg.labels_per_class,
               size=cfg.image_size or spec.default_size, epochs=cfg.train.epochs))
if cfg.target == UPLOAD:
    _own_images()
elif TARGETS.get(cfg.target).online:
    st.info(tr("transfer.online_note"), icon=":material/cloud_download:")
if not active:
    _estimate(cfg)

cols = st.columns([1.3, 1, 1, 3], vertical_alignment="bottom")
cols[0].button(tr("transfer.start"), type="primary", on_click=_start, args=(cfg,), key="tl.btn_start",
               disabled=active or not cfg.strategies, icon=":material/play_arrow:", width="stretch")
pause_stop_buttons(cols[1], cols[2], job, "tl.")
if not cfg.strategies:
    st.warning(tr("transfer.no_strategy"))
if "tl.error" in ss:
    st.warning(ss["tl.error"])
if job is not None:  # your own images: a new zip or set of files is a new setup too
    stale_notice(job, cfg, same_data=cfg.target != UPLOAD or job.trainer is None
                 or job.trainer.data is ss.get("tl.upload_bundle"))


@polling_fragment(POLL_SECONDS if active else None)
def live_panel() -> None:
    j = current_job(JOB_KEY)
    if j is None:
        st.plotly_chart(transfer_curves_figure({}, lang=lang()), key="tl.curves")
        return
    if waiting_notice(j):
        st.plotly_chart(transfer_curves_figure({}, lang=lang()), key="tl.curves")
        return
    p = j.progress()
    if j.race is None and not j.done:
        st.progress(0.0, text=tr("transfer.preparing"))
    else:
        eta = "–" if not math.isfinite(p["eta_s"]) else f"{p['eta_s']:.0f} s"
        text = tr("transfer.progress_done" if j.done else "transfer.progress", status=tr(f"status.{j.status}"),
                  epoch=p["epoch"], epochs=p["epochs"], elapsed=p["elapsed_s"], eta=eta)
        st.progress(min(1.0, p["fraction"]), text=text)
    st.plotly_chart(transfer_curves_figure(j.lanes(), lang=lang()), key="tl.curves")
    for strategy, status in j.lane_status().items():
        if status == "diverged":
            st.caption(tr("transfer.lane_diverged", strategy=tr(f"transfer.strategy_{strategy}")))
    if active and j.done:
        st.rerun()  # one full rerun: buttons unlock and the results appear


live_panel()
if job is not None and job.done:
    _results(job)
