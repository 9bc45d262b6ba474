"""Save & serve → Monitor, "Live traffic" (lesson 23): real HTTP requests to the running service, clean then
shifted, and the drift the service's own request log shows (labcore.serve.traffic)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.state import lang, tr
from app.tasks import background
from labcore.serve import drift, traffic
from labcore.serve.api import MONITOR_SIZE
from labcore.train.job import TrainingJob

SENT = "deploy.traffic"  # session state: (job id, url, kind, weeks, number) of the last stream asked for


def _ask(job_id: str, url: str, kind: str, weeks: int) -> None:
    held = st.session_state.get(SENT)
    st.session_state[SENT] = (job_id, url, kind, weeks, 0 if held is None else held[-1] + 1)


def show(job: TrainingJob, held) -> None:
    """Under the simulated weeks; `held` is the Serve tab's (job id, Service) or None."""
    data = job.trainer.data
    if data.info.kind != "image" or data.x_test.dim() != 4:
        return  # the simulated monitor above has said why
    st.markdown(f"**{tr('serve.traffic.title')}**")
    st.caption(tr("serve.traffic.intro", requests=traffic.REQUESTS, window=traffic.WINDOW,
                  size=f"{MONITOR_SIZE:,}"))
    if held is None or not held[1].running:
        st.info(tr("serve.traffic.start_first"), icon=":material/lan:")
        return
    kind = st.session_state.get("deploy.monitor_kind") or drift.SHIFTS[0]
    lo, hi, default = traffic.LEVEL_WEEKS
    cols = st.columns([2, 1], vertical_alignment="bottom")
    weeks = cols[0].slider(tr("serve.traffic.level"), lo, hi, default, key="deploy.traffic_weeks",
                           help=tr("serve.traffic.level_help", kind=tr(f"serve.monitor.kind_{kind}")))
    cols[1].button(tr("serve.traffic.send"), on_click=_ask, args=(job.id, held[1].url, kind, weeks),
                   key="deploy.traffic_send", icon=":material/send:", width="stretch")
    asked = st.session_state.get(SENT)
    if asked is None or asked[0] != job.id:
        return
    ref = background(("serve_traffic_ref", job.id), tr("serve.traffic.preparing"), traffic.reference, data.x_train,
                     data.x_val, model=job.trainer.model)
    if ref is None:
        return
    _, url, kind, weeks, _ = asked
    run = background(("serve_traffic", *asked), tr("serve.traffic.sending"), traffic.live, url, data.x_test, data.y_test,
                     kind, traffic.level_of(kind, weeks))
    if run is not None:
        _results(job, ref, run, weeks)


def _results(job: TrainingJob, ref, run: traffic.LiveRun, weeks: int) -> None:
    windows = traffic.scan(run.rows, ref, len(job.trainer.data.class_names), shift_from=run.shift_from)
    if not windows:
        return
    found = traffic.alarms(windows, run.shift_from)
    n = len(run.answers)
    st.caption(tr("serve.traffic.stats", n=n, seconds=f"{run.seconds:.1f}", rate=f"{run.throughput:,.0f}",
                  served=f"{int(run.rows['served']):,}", size=f"{int(run.rows['size']):,}",
                  kind=tr(f"serve.monitor.kind_{run.kind}"), weeks=weeks))
    feature = st.segmented_control(tr("serve.traffic.feature"), traffic.FEATURES, default="mean",
                                   key="deploy.traffic_feature", format_func=lambda f: tr(f"serve.traffic.feature_{f}"))
    st.plotly_chart(traffic.histogram_figure(ref, run, feature or "mean", lang=lang()), key="deploy.traffic_hist")
    st.plotly_chart(traffic.windows_figure(windows, lang=lang()), key="deploy.traffic_windows")
    limit = f"{traffic.ALPHA / len(traffic.FEATURES):.2g}"
    counts = {"false": found.false_alarms, "clean": found.clean_windows}
    if found.delay is None:
        st.success(tr("serve.traffic.not_detected", limit=limit, **counts), icon=":material/check_circle:")
    else:
        first = next(i for i, w in enumerate(windows) if w.shifted and w.flagged) + 1
        st.warning(tr("serve.traffic.detected", window=first, delay=found.delay, **counts),
                   icon=":material/notifications_active:")
    st.plotly_chart(traffic.output_figure(windows, job.trainer.data.class_names, float(ref["confidence"].mean()),
                                          lang=lang()), key="deploy.traffic_outputs")
    st.info(tr("serve.traffic.no_labels", clean=f"{run.accuracy(False):.1%}", shifted=f"{run.accuracy(True):.1%}"),
            icon=":material/label_off:")
    rows = [{tr("serve.traffic.col_window"): i + 1, tr("serve.traffic.col_requests"): f"{w.first}–{w.last}",
             tr("serve.traffic.col_shifted"): w.shifted, tr("serve.traffic.col_p"): f"{min(w.p.values()):.2g}",
             tr("serve.traffic.col_psi"): f"{w.psi['mean']:.2f}",
             tr("serve.traffic.col_flag"): tr("serve.traffic.flag_yes") if w.flagged else "–"}
            for i, w in enumerate(windows)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(tr("serve.traffic.psi_note", window=traffic.WINDOW, alert=f"{traffic.PSI_ALERT:g}", bins=traffic.PSI_BINS))
