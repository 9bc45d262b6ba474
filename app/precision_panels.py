"""The Precision page's second and third tabs (lesson 18): loss scaling against float16 underflow, and bfloat16
autocast on this CPU. Both compute only while their tab is open: the loss-scaling study (the digits MLP trained
for under a second, then GradScaler over 120 steps) is a background task; the autocast comparison runs when its
button is pressed, and its result stays until pressed again."""

from __future__ import annotations

import math

import streamlit as st
import torch

from app.state import lang, tr
from app.tasks import background
from labcore.explain.features import single_thread
from labcore.links import PRECISION_SCALES
from labcore.precision import amp, figures
from labcore.precision import scaling as ls

K = "pr."
RUNS = 3  # timed runs of each mode in the autocast comparison
ss = st.session_state


def _scale_label(s: int) -> str:
    return f"2^{int(math.log2(s))} = {s:,}"


def _study(progress=None) -> tuple[ls.Study, ls.Dynamic]:
    part = (lambda f: progress(0.8 * f)) if progress else None
    study = ls.study(progress=part)
    dynamic = ls.dynamic_scaling(progress=(lambda f: progress(0.8 + 0.2 * f)) if progress else None)
    return study, dynamic


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def scaling(active: bool) -> None:
    st.markdown(tr("precision.scaling_intro"))
    scale = st.select_slider(tr("precision.scale"), PRECISION_SCALES, key=K + "scale", format_func=_scale_label,
                             help=tr("precision.scale_help"))
    if not active:
        return
    result = background(("precision", "scaling"), tr("precision.studying"), _study)
    if result is None:
        return
    study, dynamic = result
    plain, scaled = ls.fp16_backward(study, 1.0), ls.fp16_backward(study, float(scale))
    st.markdown(tr("precision.study_setup", n=study.reference.size, batch=len(study.y), steps=ls.PRETRAIN_STEPS,
                   loss=f"{study.loss:.2e}"))
    left, right = st.columns(2)
    for col, out, title in ((left, plain, tr("precision.without_scale")),
                            (right, scaled, tr("precision.with_scale", scale=_scale_label(int(scale))))):
        with col.container(border=True):
            st.markdown(f"**{title}**")
            a, b, c = st.columns(3)
            a.metric(tr("precision.zero"), _pct(out.zero))
            b.metric(tr("precision.subnormal_share"), _pct(out.subnormal))
            c.metric(tr("precision.rel_error"), _pct(out.median_rel_error))
            if out.overflow:
                st.error(tr("precision.overflowed", n=out.overflow), icon=":material/error:")
    st.plotly_chart(figures.gradient_histogram(ls.log2_magnitudes(study.reference), float(scale), lang=lang()),
                    key=K + "fig.hist")
    st.caption(tr("precision.scaling_caption"))
    st.subheader(tr("precision.dynamic_title"))
    skipped = sum(dynamic.skipped)
    st.markdown(tr("precision.dynamic_text", start=int(math.log2(dynamic.init_scale)), every=dynamic.growth_interval,
                   steps=len(dynamic.scales), skipped=skipped, end=int(math.log2(dynamic.scales[-1]))))
    st.plotly_chart(figures.scale_figure(dynamic, lang=lang()), key=K + "fig.scale")
    st.caption(tr("precision.dynamic_caption"))


@st.cache_data(show_spinner=False, max_entries=4)
def _compare(run: int) -> amp.Comparison:  # about half a second on one thread
    """`run`: how many times the button was pressed (each press measures afresh; reruns reuse the numbers)."""
    with single_thread():
        return amp.compare(repeats=RUNS)


def autocast(active: bool) -> None:
    st.markdown(tr("precision.autocast_intro", steps=amp.STEPS, batch=amp.BATCH))
    if st.button(tr("precision.run_amp"), key=K + "run_amp", icon=":material/speed:"):
        ss[K + "amp_runs"] = ss.get(K + "amp_runs", 0) + 1
    runs = ss.get(K + "amp_runs", 0)
    if not active or not runs:
        st.caption(tr("precision.autocast_idle"))
        return
    with st.spinner(tr("precision.amp_running")):
        c = _compare(runs)
    a, b, d, e = st.columns(4)
    a.metric(tr("precision.fp32_speed"), f"{c.base.samples_per_s:,.0f}")
    b.metric(tr("precision.bf16_speed"), f"{c.amp.samples_per_s:,.0f}")
    d.metric(tr("precision.speedup"), f"{c.speedup:.2f}×")
    e.metric(tr("precision.loss_gap"), f"{c.max_loss_difference:.1e}")
    st.plotly_chart(figures.loss_figure(c, lang=lang()), key=K + "fig.amp_loss")
    st.caption(tr("precision.autocast_caption", threads=c.threads, cpu=torch.backends.cpu.get_cpu_capability(),
                  final=f"{c.final_loss_difference:.1e}", runs=RUNS))
    st.code("python -m labcore bench amp --json", language="bash")
