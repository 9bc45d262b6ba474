"""The Transfer page's own images: a zip of class folders, files per class or webcam shots, read once each and
checked (labcore.transfer.uploads), with every refusal named."""

from __future__ import annotations

import hashlib

import streamlit as st
import torch

from app.state import lang, lease, tr
from labcore.data.images import IMAGE_SUFFIXES, UPLOAD_MB, uploader_types
from labcore.i18n import LabError
from labcore.transfer.uploads import ACCEPTED, bundle_from_files, bundle_from_zip
from labcore.viz import image_grid_figure

UPLOAD = "upload"  # the target name of your own images
UPLOAD_SIZE = 96  # your images are stored at this size; the backbone's wrapper resizes again
ss = st.session_state


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


def own_images() -> None:
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
