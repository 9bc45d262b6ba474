"""The Transfer page's setup before Start: where the backbone's weights come from (the lab's, the torch cache, a
server folder, an upload) and how long the run will take on this computer."""

from __future__ import annotations

import hashlib

import streamlit as st

from app.state import lang, lease, tr
from app.transfer_uploads import UPLOAD
from labcore.data.images import UPLOAD_MB
from labcore.i18n import LabError
from labcore.transfer.backbones import BACKBONES
from labcore.transfer.estimate import StepCost, measure, race_seconds
from labcore.transfer.job import TransferConfig
from labcore.transfer.targets import load_target
from labcore.transfer.weights import (
    check_weights_file,
    checkpoint_path,
    download_help,
    find_checkpoint,
    server_files,
    weights_status,
)

ss = st.session_state


def weights_sidebar(backbone: str) -> None:
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


def estimate(cfg: TransferConfig) -> None:
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
