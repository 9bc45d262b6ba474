"""Save & serve, the engineer's lessons: the run in Keras beside the PyTorch script (lesson 16), and the
deployment (lesson 21) and monitoring/responsibility (lesson 23) checklists computed from the run."""

from __future__ import annotations

import streamlit as st

from app.state import tr
from labcore.serve import checklist, keras_script
from labcore.serve.bundle import Bundle
from labcore.train.job import TrainingJob

ICONS = {checklist.DONE: ":green[:material/check_circle:]", checklist.WARN: ":orange[:material/warning:]",
         checklist.OPEN: ":blue[:material/help:]"}


# -- lesson 16: Keras -----------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _keras(cfg) -> str:
    return keras_script.keras_script(cfg)


def keras_tab(job: TrainingJob) -> None:
    """The Keras tab of the Code tab (the PyTorch tab has already said why when there is no script)."""
    cfg = job.config
    if keras_script.unsupported(cfg) is not None:
        return
    name = keras_script.script_name(cfg)
    _differences(job)
    st.caption(tr("serve.keras.run_note", name=name))
    st.download_button(tr("serve.download_script", name=name), _keras(cfg), file_name=name, mime="text/x-python",
                       key="deploy.download_keras", icon=":material/download:")
    st.code(_keras(cfg), language="python", line_numbers=True)


def _differences(job: TrainingJob) -> None:
    """What the two scripts do differently, for this setup."""
    st.caption(tr("serve.keras.intro"))
    lines = [tr(f"serve.keras.diff_{key}", optimizer=job.config.optim.name)
             for key in keras_script.differences(job.config)]
    st.markdown("\n".join(f"- {line}" for line in lines))


# -- lessons 21 and 23: checklists ------------------------------------------------------------------------
def _show(items: list[checklist.Item]) -> None:
    st.markdown("\n".join(f"- {ICONS[i.state]} {tr(f'serve.checklist.{i.key}', **i.params)}" for i in items))
    st.caption(tr("serve.checklist.legend"))


def deployment(job: TrainingJob, bundle: Bundle | None) -> None:
    """Lesson 21's checklist under the Serve tab (once the bundle is ready)."""
    if bundle is None:
        return
    st.markdown(f"**{tr('serve.checklist.deploy_title')}**")
    held = st.session_state.get("deploy.checklist")
    if held is None or held[0] != job.id:  # a TorchScript load and a forward pass: once per run
        held = (job.id, checklist.deployment(bundle, job.outcome))
        st.session_state["deploy.checklist"] = held
    _show(held[1])


def responsibility(job: TrainingJob, bundle: Bundle | None, report) -> None:
    """Lesson 23's checklist under the Monitor tab; `report` is the drift report shown above it (or None)."""
    data = job.trainer.data
    if bundle is None or (report is None and data.info.kind == "image" and data.x_test.dim() == 4):
        return  # not ready yet (the drift report is still being computed)
    st.markdown(f"**{tr('serve.checklist.ethics_title')}**")
    _show(checklist.responsibility(job.config, bundle.meta, job.outcome, report))
