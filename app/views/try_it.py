"""Try it: classify your own picture (upload, camera, or a drawing on the pad or saved as a picture) with any
model this tab trained, on the Train page or the Transfer page, and download that model. A drawing is cropped to
its ink, centred and scaled the way the model's training digits were (`labcore.data.drawing`)."""

from __future__ import annotations

import streamlit as st
import torch

from app import links
from app.components.canvas import drawing_canvas
from app.state import lang, lease, readable, registry, tr
from labcore.data.drawing import drawing_to_input, ink_to_input, picture_to_ink
from labcore.data.images import JPEG_SUFFIXES, PHOTO_FORMATS, PNG_SUFFIXES, UPLOAD_MB, accepted_names, uploader_types
from labcore.explain.features import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, image_from_bytes, predict_proba
from labcore.i18n import LabError
from labcore.train.job import TrainingJob
from labcore.transfer.export import FORMATS, SUFFIX, export
from labcore.tryable import Tryable, tryable_models, tryable_network
from labcore.viz import image_grid_figure
from labcore.viz.explain import probability_bars_figure

ss = st.session_state


def _session_models() -> dict[str, Tryable]:
    """Every image classifier this tab trained, newest run first: each strategy of a transfer race (the one
    chosen on validation first), each race contender, each model of the Train page."""
    return {t.key: t for t in tryable_models(registry().jobs(owner=lease().owner, of=TrainingJob))}


def _label(t: Tryable) -> str:
    """How the picker names a model: in words a person reads, never registry names."""
    model = readable(t.model, "models", "transfer.backbone_")
    data = readable(t.data, "datasets", "transfer.target_")
    if t.kind == "transfer":
        label = tr("try_it.label_transfer", run=t.run, strategy=tr(f"transfer.strategy_{t.strategy}"), backbone=model,
                   data=data, acc=t.accuracy)
        return label + tr("try_it.best_mark") if t.best else label
    if t.kind == "race":
        return tr("try_it.label_race", run=t.run, optimizer=tr(f"optimizers.{t.optimizer}"), lr=t.lr, model=model,
                  data=data, acc=t.accuracy)
    return tr("try_it.label_model", run=t.run, model=model, data=data, acc=t.accuracy)


def _network(t: Tryable):
    """(network, data) of the chosen model; a race contender is built once per tab."""
    job = registry().get(t.job_id)
    if t.kind != "race":
        return tryable_network(job, t)
    cache = ss.setdefault("try.race_models", {})
    if t.key not in cache:
        cache.clear()  # one at a time: a race may have eight
        cache[t.key] = tryable_network(job, t)
    return cache[t.key]


def _drawing_from_bytes(raw: bytes, shape: tuple[int, ...]) -> torch.Tensor:
    """A drawing saved as a picture: cropped to its ink and centred like the pad's (refusals as for any upload)."""
    try:
        ink = picture_to_ink(raw, formats=PHOTO_FORMATS, max_bytes=MAX_UPLOAD_BYTES, max_pixels=MAX_UPLOAD_PIXELS)
    except LabError as e:
        raise LabError("explain.bad_image") from e
    return torch.from_numpy(ink_to_input(ink, shape))


torch.set_num_threads(1)
links.setup(links.PageLink("try-it", keys={"source": "try.source"}))  # the link's setup (app/links.py)
st.title(tr("try_it.title"))
st.caption(tr("try_it.intro"))
models = _session_models()
if not models:
    st.info(tr("try_it.no_models"), icon=":material/info:")
    c = st.columns(3)
    c[0].page_link("views/train.py", label=tr("try_it.go_train"), icon=":material/monitoring:")
    c[1].page_link("views/transfer.py", label=tr("try_it.go_transfer"), icon=":material/move_up:")
    links.publish()  # nothing after st.stop() reaches the browser
    st.stop()

key = st.selectbox(tr("try_it.model"), list(models), format_func=lambda k: _label(models[k]), key="try.model",
                   help=tr("try_it.model_help"))
model, data = _network(models[key])
names = data.class_names
note = "try_it.model_note_drawing" if ss.get("try.source") == "drawing" else "try_it.model_note"  # how a picture is fitted
st.caption(tr(note, classes=", ".join(names[:20]), shape="×".join(map(str, data.input_shape))))

source = st.segmented_control(tr("try_it.source"), ["upload", "camera", "drawing"], key="try.source",
                              format_func=lambda s: tr(f"try_it.source_{s}")) or "upload"
left, right = st.columns([2, 3])
raw = None
drawn = None  # the pad's drawing, already the model's input
with left:
    if source == "upload":
        accepted = PNG_SUFFIXES + JPEG_SUFFIXES
        f = st.file_uploader(tr("try_it.upload"), type=uploader_types(accepted), key="try.upload",
                             max_upload_size=UPLOAD_MB)
        st.caption(tr("transfer.upload.limit_files", mb=UPLOAD_MB, accepted=accepted_names(accepted)))
        raw = f.getvalue() if f is not None else None
    elif source == "camera":
        f = st.camera_input(tr("try_it.camera"), key="try.camera")
        raw = f.getvalue() if f is not None else None
    else:
        st.caption(tr("try_it.drawing_help"))
        strokes = drawing_canvas("try.canvas", undo=tr("try_it.canvas_undo"), clear=tr("try_it.canvas_clear"),
                                 label=tr("try_it.canvas_label"))
        drawn = drawing_to_input(strokes, tuple(data.input_shape))
        with st.expander(tr("try_it.drawing_upload"), icon=":material/upload:"):
            st.caption(tr("try_it.drawing_upload_help"))
            accepted = PNG_SUFFIXES + JPEG_SUFFIXES  # a drawing saved as JPEG is a drawing too
            f = st.file_uploader(tr("try_it.drawing"), type=uploader_types(accepted), key="try.drawing",
                                 max_upload_size=UPLOAD_MB)
            st.caption(tr("transfer.upload.limit_files", mb=UPLOAD_MB, accepted=accepted_names(accepted)))
        raw = f.getvalue() if f is not None and drawn is None else None  # the pad wins while it has ink

if raw is None and drawn is None:
    right.info(tr("try_it.waiting"), icon=":material/image:")
else:
    try:
        shape = tuple(data.input_shape)
        if drawn is not None:
            image = torch.from_numpy(drawn)
        elif source == "drawing":
            image = _drawing_from_bytes(raw, shape)
        else:
            image = image_from_bytes(raw, shape)
        probs = predict_proba(model, image.unsqueeze(0))[0]
        top = int(probs.argmax())
        with left:
            st.plotly_chart(image_grid_figure(image.unsqueeze(0).numpy(), titles=[tr("try_it.as_seen")], cols=1,
                                              lang=lang(), height=220), key="try.seen")
            st.caption(tr("try_it.as_seen_size", h=shape[-2], w=shape[-1]))
        with right:
            st.metric(tr("try_it.prediction"), names[top], tr("try_it.confidence", p=float(probs[top])),
                      delta_color="off", delta_arrow="off")  # a confidence is not a change: no ↑
            st.plotly_chart(probability_bars_figure(probs, names, highlight=top, lang=lang()), key="try.probs")
    except LabError as e:
        why = e.__cause__.message(lang()) if isinstance(e.__cause__, LabError) else tr("images.why_broken")
        right.warning(tr("transfer.upload.picture_refused", why=why, mb=UPLOAD_MB,
                         accepted=accepted_names(PNG_SUFFIXES + JPEG_SUFFIXES)), icon=":material/broken_image:")

st.subheader(tr("try_it.export_title"))
st.caption(tr("try_it.export_help"))
cols = st.columns(len(FORMATS))
for col, fmt in zip(cols, FORMATS, strict=True):
    def build(fmt: str = fmt) -> bytes:  # built only when clicked
        return export(model, fmt, tuple(data.input_shape))

    col.download_button(tr(f"transfer.export_{fmt}"), build, file_name=f"model-{key.replace(':', '-')}.{SUFFIX[fmt]}",
                        key=f"try.dl.{fmt}", on_click="ignore", icon=":material/download:", width="stretch")
