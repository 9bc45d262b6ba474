"""The Transfer page after a race: the table with intervals, the verdict, the feature view and the downloads."""

from __future__ import annotations

import streamlit as st
import torch

from app import export_panel
from app.state import lang, tr
from labcore.transfer.embed import METHODS, embeddings, project, sample
from labcore.transfer.job import TransferJob, as_float, tied_with, verdict
from labcore.viz.transfer import embedding_figure, results_frame

TINY_TEST = 30  # fewer test images than this: one image moves the accuracy by more than 3 points
ss = st.session_state


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
    export_panel.transfer(job, "tl.export")  # one zip: the three formats, each checked, and metadata.json


def show(job: TransferJob) -> None:
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
