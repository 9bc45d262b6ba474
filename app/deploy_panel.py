"""Train page, "Save & serve" (lessons 20-21): one zip with every export format, the run as a plain PyTorch
script, and a small prediction service for the trained model with a test-request widget."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pandas as pd
import streamlit as st

from app import deploy_lessons, deploy_traffic, present
from app.export_panel import check_text, size_text
from app.state import lang, lease, readable, registry, tr
from app.tasks import background
from labcore import links
from labcore.i18n import DEFAULT_LANG, LabError
from labcore.presets import page_script
from labcore.serve import drift, script, service
from labcore.serve.bundle import CHECK_ROWS, FILES, METADATA, TOLERANCE, Bundle, build_bundle
from labcore.train.job import Outcome, TrainingJob

SERVICE = "deploy.service"  # session state: (job id, Service) of the service this tab started
ANSWER = "deploy.answer"  # session state: (status, body, milliseconds) of the last test request
FORMAT_OF = {**{name: fmt for fmt, name in FILES.items()}, METADATA: "metadata", "api.py": "api"}  # else: the script


def _make_bundle(model, cfg, data, outcome) -> tuple[Bundle, bytes]:
    """The zip also carries the service (api.py) and, where there is one, the run as a plain script."""
    extra = {"api.py": service.api_source().encode("utf-8")}
    if script.unsupported(cfg) is None:
        extra[script.script_name(cfg)] = script.training_script(cfg).encode("utf-8")
    bundle = build_bundle(model, cfg, data, outcome, extra_files=extra)
    return bundle, bundle.zip_bytes()


def show(job: TrainingJob) -> None:
    """The expander under a finished run's results (classification runs only)."""
    if job.trainer is None or not isinstance(job.outcome, Outcome):
        return
    with st.expander(tr("serve.title"), icon=":material/rocket_launch:"):
        st.caption(tr("serve.intro"))
        made = background(("serve_bundle", job.id), tr("serve.preparing"), _make_bundle, job.trainer.model,
                          job.config, job.trainer.data, job.outcome)
        save, code, serve, watch = st.tabs([tr("serve.tab_save"), tr("serve.tab_code"), tr("serve.tab_serve"),
                                            tr("serve.tab_monitor")])
        with save:
            if made is not None:
                _save(job, *made)
        bundle = made[0] if made is not None else None
        with code:
            _code(job)
        with serve:
            _serve(job, bundle)
            deploy_lessons.deployment(job, bundle)
        with watch:
            report = _monitor(job)
            deploy_traffic.show(job, st.session_state.get(SERVICE))
            deploy_lessons.responsibility(job, bundle, report)


def _stem(job: TrainingJob) -> str:
    return f"{job.config.data.name}_{job.config.model.name}"


# -- save -----------------------------------------------------------------------------------------------
def _save(job: TrainingJob, bundle: Bundle, zipped: bytes) -> None:
    rows = [{tr("serve.col_file"): name, tr("serve.col_format"): tr(f"serve.format_{FORMAT_OF.get(name, 'script')}"),
             tr("serve.col_size"): size_text(size), tr("serve.col_check"): check_text(bundle, FORMAT_OF.get(name, ""))}
            for name, size in bundle.sizes().items()]
    rows += [{tr("serve.col_file"): FILES[fmt], tr("serve.col_format"): tr(f"serve.format_{fmt}"),
              tr("serve.col_size"): "–", tr("serve.col_check"): check_text(bundle, fmt)} for fmt in bundle.errors]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(tr("serve.check_caption", rows=min(CHECK_ROWS, len(job.trainer.data.y_test)), tol=TOLERANCE))
    st.download_button(tr("serve.download_bundle", size=size_text(len(zipped))), zipped, file_name=f"{_stem(job)}_model.zip",
                       mime="application/zip", key="deploy.download_bundle", icon=":material/download:")
    st.caption(tr("serve.metadata_caption"))
    st.json(bundle.meta, expanded=1)
    _rerun(job)


def _rerun(job: TrainingJob) -> None:
    """Lesson 20: the run's whole setup, seed included, as a Train page link (the same seed gives the same run)."""
    carried = {"lang": lang()} if lang() != DEFAULT_LANG else {}
    carried |= {"present": "1"} if present.presenting() else {}
    query = links.write("train", links.train_values(job.config))
    st.page_link(page_script("train"), label=tr("serve.rerun"), icon=":material/replay:", query_params={**query, **carried})
    st.caption(tr("serve.rerun_caption", seed=job.config.train.seed))


# -- the code -------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _script(cfg) -> str:
    return script.training_script(cfg)


def _code(job: TrainingJob) -> None:
    cfg = job.config
    reason = script.unsupported(cfg)
    if reason is not None:
        st.info(tr(f"serve.{reason}", model=readable(cfg.model.name, "models")), icon=":material/info:")
        return
    name = script.script_name(cfg)
    code = _script(cfg)
    torch_tab, keras_tab = st.tabs([tr("serve.keras.tab_torch"), tr("serve.keras.tab_keras")])
    with torch_tab:
        st.caption(tr("serve.code_intro", name=name))
        st.download_button(tr("serve.download_script", name=name), code, file_name=name, mime="text/x-python",
                           key="deploy.download_script", icon=":material/download:")
        st.code(code, language="python", line_numbers=True)
    with keras_tab:
        deploy_lessons.keras_tab(job)


# -- serve ----------------------------------------------------------------------------------------------
def _owner_alive(owner: str) -> bool:
    """The tab's jobs' rule for the service too: it ends once Streamlit has dropped the session, or once the
    tab has been disconnected for longer than the engine's grace period (a reconnect within it keeps it)."""
    return registry().present(owner)


def _start(job: TrainingJob, bundle: Bundle) -> None:
    _stop()
    owner = lease().owner
    try:  # the service ends with this tab's session (a watchdog thread asks every 2 s)
        svc = service.start(bundle.files[FILES["torchscript"]], bundle.meta, label=job.id,
                            alive=lambda: _owner_alive(owner))
    except LabError as e:
        st.session_state["deploy.error"] = e.key, e.params
        return
    st.session_state.pop("deploy.error", None)
    st.session_state[SERVICE] = (job.id, svc)
    st.session_state.pop(ANSWER, None)


def _stop() -> None:
    held = st.session_state.pop(SERVICE, None)
    if held is not None:
        held[1].stop()
    st.session_state.pop(ANSWER, None)


def _send(url: str, text: str) -> None:
    try:
        json.loads(text)
    except ValueError as e:
        st.session_state[ANSWER] = (None, tr("serve.bad_json", reason=str(e)), 0.0)
        return
    request = urllib.request.Request(f"{url}/predict", data=text.encode("utf-8"),
                                     headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except OSError as e:
        st.session_state[ANSWER] = (None, tr("serve.request_failed", reason=str(e)), 0.0)
        return
    ms = (time.perf_counter() - t0) * 1000
    try:
        answer = json.loads(body)
    except ValueError:
        answer = body.decode("utf-8", "replace")
    st.session_state[ANSWER] = (status, answer, ms)


def _serve(job: TrainingJob, bundle: Bundle | None) -> None:
    st.caption(tr("serve.serve_intro"))
    st.download_button(tr("serve.download_api"), service.api_source(), file_name="api.py", mime="text/x-python",
                       key="deploy.download_api", icon=":material/download:", help=tr("serve.api_help"))
    if not service.available():
        st.info(tr("serve.missing_extra", extra=service.EXTRA), icon=":material/extension:")
        return
    held = st.session_state.get(SERVICE)
    if held is not None and not held[1].running:  # ended by itself (its thread died)
        st.session_state.pop(SERVICE, None)
        held = None
        st.info(tr("serve.stopped"))
    cols = st.columns([1, 1, 3])
    cols[0].button(tr("serve.start"), on_click=_start, args=(job, bundle), disabled=bundle is None, type="primary",
                   key="deploy.start", icon=":material/play_arrow:", width="stretch")
    cols[1].button(tr("serve.stop"), on_click=_stop, disabled=held is None, key="deploy.stop",
                   icon=":material/stop:", width="stretch")
    if "deploy.error" in st.session_state:
        key, params = st.session_state["deploy.error"]
        st.error(tr(key, **params), icon=":material/error:")
    if held is None:
        return
    job_id, svc = held
    st.success(tr("serve.running", url=svc.url), icon=":material/lan:")
    st.markdown(f"[{tr('serve.docs_link')}]({svc.url}/docs) · [{tr('serve.health_link')}]({svc.url}/health)")
    st.caption(tr("serve.links_local"))
    if job_id != job.id:
        st.info(tr("serve.stale"), icon=":material/history:")
    example = bundle.meta["example"] if bundle is not None else {}
    text = st.text_area(tr("serve.request"), json.dumps(example), key=f"deploy.request.{job.id}",
                        help=tr("serve.request_help"), height=120)
    if st.button(tr("serve.send"), key="deploy.send", icon=":material/send:"):
        _send(svc.url, text)
    answer = st.session_state.get(ANSWER)
    if answer is not None:
        status, body, ms = answer
        if status is None:
            st.warning(body)
        else:
            st.caption(tr("serve.status", code=status, ms=ms))
            st.json(body)


# -- monitor (lesson 23) ----------------------------------------------------------------------------------
def _drift(model, data, kind: str, weeks: int) -> drift.DriftReport:
    return drift.monitor(model, data.x_test, data.y_test, data.x_val, data.y_val, kind=kind, weeks=weeks)


def _monitor(job: TrainingJob) -> drift.DriftReport | None:
    data = job.trainer.data
    st.caption(tr("serve.monitor.intro", drop=f"{drift.DROP:g}"))
    if data.info.kind != "image" or data.x_test.dim() != 4:
        st.info(tr("serve.monitor.images_only"), icon=":material/info:")
        return None
    cols = st.columns([1, 1])
    kind = cols[0].selectbox(tr("serve.monitor.kind"), drift.SHIFTS, key="deploy.monitor_kind",
                             format_func=lambda k: tr(f"serve.monitor.kind_{k}"))
    lo, hi, default = drift.WEEKS
    weeks = cols[1].slider(tr("serve.monitor.weeks"), lo, hi, default, key="deploy.monitor_weeks",
                           help=tr("serve.monitor.weeks_help"))
    report = background(("serve_drift", job.id, kind, weeks), tr("serve.monitor.computing"), _drift, data, kind, weeks,
                        model=job.trainer.model)
    if report is None:
        return None
    st.plotly_chart(drift.drift_figure(report, lang=lang()), key="deploy.monitor_chart")
    pct = {"threshold": f"{report.threshold:.1%}", "reference": f"{report.reference:.1%}", "drop": f"{drift.DROP:g}"}
    if report.alert_week is None:
        st.success(tr("serve.monitor.no_alert", weeks=weeks, **pct), icon=":material/check_circle:")
    else:
        w = report.alert_week
        st.warning(tr("serve.monitor.alert_text", week=w, acc=f"{report.accuracy[w]:.1%}", **pct),
                   icon=":material/notifications_active:")
    return report
