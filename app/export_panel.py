"""Save a trained model, on any page: one zip with the state dict, TorchScript, ONNX and metadata.json, each file's
size and its round trip (the reloaded file's outputs against the live model's). The bundle is labcore.serve.bundle's,
the Train page's too; this is its table and download for the Sequences, Autoencoders, Transfer, Attention,
Beyond classification and Optimizer race pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app.state import lang, tr
from app.tasks import background
from labcore.serve.bundle import (
    CHECK_ROWS,
    FILES,
    METADATA,
    TOLERANCE,
    Bundle,
    autoencoder_bundle,
    contender_bundle,
    transfer_bundle,
)
from labcore.transfer.export import FORMATS, SUFFIX, export

FORMAT_OF = {**{name: fmt for fmt, name in FILES.items()}, METADATA: "metadata"}
BUNDLE_MAX_WEIGHTS = 20_000_000  # above this (80 MB a file), each format downloads on its own, unchecked


def size_text(n: int) -> str:
    return f"{n / 1024:,.1f} KB" if n < 1024**2 else f"{n / 1024**2:,.2f} MB"


def check_text(bundle: Bundle, fmt: str) -> str:
    """A format's round trip in words: same outputs (and the largest difference), or why it was not checked."""
    if fmt in bundle.errors:
        return tr("serve.check_failed", reason=bundle.errors[fmt])
    check = bundle.checks.get(fmt)
    if check is None:
        return "–"
    if check.skipped == "onnxruntime":
        return tr("serve.check_not_checked")
    if check.skipped == "error":
        return tr("serve.check_failed", reason=check.error)
    return tr("serve.check_ok" if check.ok else "serve.check_bad", diff=check.max_abs_diff)


def _zipped(make: Callable[..., Bundle], *args: Any) -> tuple[Bundle, bytes]:
    bundle = make(*args)
    return bundle, bundle.zip_bytes()


def _files(bundle: Bundle, zipped: bytes, rows: int, file_name: str, key: str) -> None:
    table = [{tr("serve.col_file"): name, tr("serve.col_format"): tr(f"serve.format_{FORMAT_OF.get(name, 'metadata')}"),
              tr("serve.col_size"): size_text(size), tr("serve.col_check"): check_text(bundle, FORMAT_OF.get(name, ""))}
             for name, size in bundle.sizes().items()]
    table += [{tr("serve.col_file"): FILES[fmt], tr("serve.col_format"): tr(f"serve.format_{fmt}"),
               tr("serve.col_size"): "–", tr("serve.col_check"): check_text(bundle, fmt)} for fmt in bundle.errors]
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", key=key + ".files")
    for fmt, reason in bundle.errors.items():  # a format this model cannot take: said plainly, the rest still saved
        st.warning(tr("export.not_exported", format=tr(f"serve.format_{fmt}"), reason=reason), icon=":material/block:")
    st.caption(tr("serve.check_caption", rows=rows, tol=TOLERANCE))
    st.download_button(tr("serve.download_bundle", size=size_text(len(zipped))), zipped, file_name=file_name,
                       mime="application/zip", key=key + ".download", icon=":material/download:")
    st.caption(tr("serve.metadata_caption"))
    st.json(bundle.meta, expanded=1)


def comparison(job: Any, key: str) -> None:
    """The Sequences page: pick one of the models a finished comparison trained, and save it."""
    trained = [i for i, c in enumerate(job.contenders) if c.trainer is not None]
    if not job.done or not trained:
        return
    with st.expander(tr("export.title"), icon=":material/save:"):
        st.caption(tr("export.sequences_intro", length=int(job.data.input_shape[-1])))
        labels = {i: tr(f"models.{job.contenders[i].name}") for i in trained}
        if any(job.contenders[i].model.bidirectional for i in trained):
            labels = {i: tr("sequences.bidirectional_label", model=labels[i]) if job.contenders[i].model.bidirectional
                      else labels[i] for i in trained}
        i = st.selectbox(tr("export.pick_model"), trained, key=key + ".model", format_func=labels.get)
        made = background(("export_bundle", job.id, i), tr("serve.preparing"), _zipped, contender_bundle, job, i)
        if made is not None:
            name = f"{job.data.name}_{job.contenders[i].name}_model.zip"
            _files(*made, rows=min(CHECK_ROWS, len(job.data.y_test)), file_name=name, key=key)


def autoencoder(job: Any, key: str) -> None:
    """The Autoencoders page: the trained autoencoder as image -> reconstruction."""
    if not job.done or job.outcome is None or getattr(job, "trainer", None) is None:
        return
    with st.expander(tr("export.title"), icon=":material/save:"):
        st.caption(tr("export.autoencoder_intro", k=job.config.latent_dim))
        data = job.trainer.data
        made = background(("export_bundle", job.id), tr("serve.preparing"), _zipped, autoencoder_bundle,
                          job.trainer.model, job.config, data, job.outcome)
        if made is not None:
            name = f"{data.name}_{job.config.model}_autoencoder.zip"
            _files(*made, rows=min(CHECK_ROWS, len(data.y_test)), file_name=name, key=key)


def transfer(job: Any, key: str) -> None:
    """The Transfer page: the best strategy's network (under the page's own "Download the model" heading)."""
    if not job.done or job.best is None or getattr(job, "trainer", None) is None:
        return
    data, model = job.trainer.data, job.trainer.model
    weights = sum(p.numel() for p in model.parameters())
    if weights > BUNDLE_MAX_WEIGHTS:  # VGG-16: three copies of 550 MB in one zip would fill the server's memory
        st.info(tr("export.too_big", n=weights, mb=4 * weights / 1024**2), icon=":material/info:")
        cols = st.columns(len(FORMATS))
        for col, fmt in zip(cols, FORMATS, strict=True):
            def one(fmt: str = fmt) -> bytes:  # built only when clicked
                return export(model, fmt, tuple(data.input_shape))

            col.download_button(tr(f"serve.format_{fmt}"), one, file_name=f"transfer-{job.id}.{SUFFIX[fmt]}",
                                key=f"{key}.{fmt}", on_click="ignore", icon=":material/download:", width="stretch")
        return
    made = background(("export_bundle", job.id), tr("serve.preparing"), _zipped, transfer_bundle, job)
    if made is not None:
        _files(*made, rows=min(CHECK_ROWS, len(data.y_test)), file_name=f"transfer-{job.id}.zip", key=key)


def attention(job: Any, key: str) -> None:
    """The Attention page: the trained toy-sentence Transformer or tiny ViT (the job's one contender)."""
    c = job.contenders[0] if job.contenders else None
    if not job.done or c is None or c.trainer is None:
        return
    with st.expander(tr("export.title"), icon=":material/save:"):
        text = job.data.info.kind == "tokens"
        shape = tuple(int(n) for n in job.data.input_shape)
        st.caption(tr("export.attention_text_intro", length=shape[-1], vocab=shape[0]) if text
                   else tr("export.attention_vit_intro", shape=", ".join(map(str, shape))))
        made = background(("export_bundle", job.id, 0), tr("serve.preparing"), _zipped, contender_bundle, job, 0)
        if made is not None:
            _files(*made, rows=min(CHECK_ROWS, len(job.data.y_test)), file_name=f"{job.data.name}_{c.name}_model.zip",
                   key=key)


def beyond(job: Any, key: str) -> None:
    """The Beyond classification page: the trained segmenter (mask logits) or detector (class logits and box)."""
    from labcore.beyond.export import beyond_bundle

    out = getattr(job, "result", None)
    if not job.done or out is None or out.model is None:
        return
    with st.expander(tr("export.title"), icon=":material/save:"):
        st.caption(tr(f"export.beyond_{job.config.task}_intro"))
        made = background(("export_bundle", job.id), tr("serve.preparing"), _zipped, beyond_bundle, job.config, out)
        if made is not None:
            name = "unet" if job.config.task == "segment" else "detector"
            _files(*made, rows=min(CHECK_ROWS, len(out.iou)), file_name=f"shapes_{name}_model.zip", key=key)


def race(job: Any, key: str) -> None:
    """The Optimizer race page: pick a contender (one that did not diverge) and save its network as trained."""
    from labcore.serve.bundle import race_bundle
    from labcore.viz.race import contender_labels

    if not job.done or getattr(job, "race", None) is None:
        return
    ready = [s.index for s in job.standings() if s.epochs and s.status != "diverged"]
    if not ready:
        return
    with st.expander(tr("export.race_title"), icon=":material/save:"):
        st.caption(tr("export.race_intro"))
        labels = contender_labels(job.config, lang())
        i = st.selectbox(tr("export.pick_contender"), ready, key=key + ".model", index=None,
                         placeholder=tr("export.pick_none"), format_func=lambda k: f"{k + 1}. {labels[k]}")
        if i is None:  # nothing is built before a pick: most races are not saved
            return
        made = background(("export_bundle", job.id, i), tr("serve.preparing"), _zipped, race_bundle, job, i)
        if made is not None:
            data = job.race.data
            _files(*made, rows=min(CHECK_ROWS, len(data.y_test)), file_name=f"race_{data.name}_contender{i + 1}.zip",
                   key=key)
