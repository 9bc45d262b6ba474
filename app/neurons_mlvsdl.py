"""The Neurons page's "ML vs DL" tab (the book's lesson 1): hand-made features and classic models against a CNN
that learns its own features, the pixel-shuffle "no free lunch" test, and the training loop one real step at a time.

The comparisons train for a few seconds, so they are background jobs (app.tasks.background), started only while
this tab is the open one, the shuffle test after the features test. The loop is instant (a 64 → 16 → 10 MLP)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.state import lang, tr
from app.tasks import background
from labcore.basics import mlvsdl
from labcore.links import NEURON_RANGES
from labcore.viz.images import image_grid_figure
from labcore.viz.mlvsdl import features_figure, loop_figure, shuffled_figure

K = "nr."
EVEN = 0.02  # accuracies closer than this are "about even": a handful of test images
ss = st.session_state


@st.cache_data(show_spinner=False, max_entries=8)
def _test_images(name: str, seed: int) -> np.ndarray:
    hi = NEURON_RANGES["ml_index"][1]
    return mlvsdl.split(name, seed)[1][0][: hi + 1]


@st.cache_data(show_spinner=False, max_entries=8)
def _loop(lr: float) -> list[mlvsdl.LoopStep]:
    return mlvsdl.training_loop(int(NEURON_RANGES["loop_step"][1]), lr)


def _slider(name: str, label: str, rng: str, col=st) -> int:
    lo, hi, step = NEURON_RANGES[rng]
    return col.slider(label, lo, hi, step=step, key=K + name)


def _model(r: mlvsdl.Result) -> str:
    return tr(f"neurons.ml.model_{r.model}")


def _table(results: list[mlvsdl.Result]) -> None:
    rows = [{tr("neurons.ml.col_model"): _model(r), tr("neurons.ml.col_inputs"): tr(f"neurons.ml.inputs_{r.inputs}"),
             tr("neurons.ml.col_n"): r.n_inputs, tr("neurons.ml.col_accuracy"): f"{r.accuracy:.1%}",
             tr("neurons.ml.col_time"): f"{r.fit_s:.2f}"} for r in results]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def _features(name: str, seed: int, start: bool) -> bool:
    st.subheader(tr("neurons.ml.features_title"))
    st.markdown(tr("neurons.ml.features_intro"))
    index = _slider("ml.index", tr("neurons.ml.index"), "ml_index")
    image = _test_images(name, seed)[index]
    st.plotly_chart(features_figure(image, lang=lang()), key=K + "fig.ml_features")
    a = mlvsdl.ink(image[None])
    m = mlvsdl.masks(a)
    lr_sym, tb_sym = mlvsdl.symmetry(a)[0]
    st.markdown(tr("neurons.ml.feature_values", n=mlvsdl.hand_features(image[None]).shape[1], lr=f"{lr_sym:.2f}",
                   tb=f"{tb_sym:.2f}", holes=int(mlvsdl.holes(m)[0]), compact=f"{mlvsdl.compactness(m)[0]:.2f}"))
    if not start:
        return False
    results = background(("mlvsdl.features", name, seed), tr("neurons.ml.training"), mlvsdl.features_vs_learned,
                         name, seed)
    if results is None:
        return False
    _table(results)
    by = {(r.model, r.inputs): r.accuracy for r in results}
    feat = max(by[(m, "features")] for m in mlvsdl.CLASSIC)
    pix = max(by[(m, "pixels")] for m in mlvsdl.CLASSIC)
    cnn = by[("cnn", "pixels")]
    st.markdown(tr("neurons.ml.verdict", feat=f"{feat:.1%}", pix=f"{pix:.1%}", cnn=f"{cnn:.1%}"))
    key = "features_win" if feat > cnn + EVEN else "cnn_wins" if cnn > feat + EVEN else "even"
    st.info(tr(f"neurons.ml.{key}", points=f"{EVEN:.0%}"), icon=":material/lightbulb:")
    st.caption(tr("neurons.ml.features_caption", epochs=mlvsdl.EPOCHS[name], trees=mlvsdl.FOREST_TREES,
                  test=len(mlvsdl.split(name, seed)[1][1])))
    return True


def _shuffle(name: str, seed: int, start: bool) -> None:
    st.subheader(tr("neurons.ml.shuffle_title"))
    st.markdown(tr("neurons.ml.shuffle_intro"))
    images = _test_images(name, seed)[:6]
    st.plotly_chart(shuffled_figure(images, mlvsdl.permutation(*images.shape[2:]), lang=lang()),
                    key=K + "fig.ml_shuffled")
    if not start:
        return
    results = background(("mlvsdl.shuffle", name, seed), tr("neurons.ml.training"), mlvsdl.shuffle_compare, name, seed)
    if results is None:
        return
    _table(results)
    by = {(r.model, r.inputs): r.accuracy for r in results}
    lines = [tr("neurons.ml.shuffle_line", model=tr(f"neurons.ml.model_{m}"), before=f"{by[(m, 'pixels')]:.1%}",
                after=f"{by[(m, 'shuffled')]:.1%}") for m in mlvsdl.SHUFFLE_MODELS]
    st.markdown("  \n".join(lines))
    drop = {m: by[(m, "pixels")] - by[(m, "shuffled")] for m in mlvsdl.SHUFFLE_MODELS}
    if drop["cnn"] > max(drop["mlp"], drop["logreg"]) + 0.05:
        st.info(tr("neurons.ml.shuffle_cnn_loses", drop=f"{drop['cnn']:.0%}"), icon=":material/lightbulb:")
    else:
        st.info(tr("neurons.ml.shuffle_small"), icon=":material/info:")


def _advance(delta: int) -> None:
    n = len(mlvsdl.LOOP_STAGES)
    last = int(NEURON_RANGES["loop_step"][1])
    at = ss.get(K + "loop.step", 0) * n + mlvsdl.LOOP_STAGES.index(ss.get(K + "loop.stage", mlvsdl.LOOP_STAGES[0]))
    at = min(max(at + delta, 0), last * n + n - 1)
    ss[K + "loop.step"], ss[K + "loop.stage"] = at // n, mlvsdl.LOOP_STAGES[at % n]


def _loop_panel() -> None:
    st.subheader(tr("neurons.ml.loop_title"))
    st.markdown(tr("neurons.ml.loop_intro"))
    c = st.columns([1, 2])
    lr = c[0].selectbox(tr("neurons.ml.lr"), mlvsdl.LOOP_LRS, key=K + "loop.lr")
    k = _slider("loop.step", tr("neurons.ml.step"), "loop_step", col=c[1])
    back, stages, forward = st.columns([1.2, 5.4, 1.6], vertical_alignment="bottom")
    back.button(tr("neurons.prev"), key=K + "ml.prev", on_click=_advance, args=(-1,), icon=":material/chevron_left:")
    forward.button(tr("neurons.ml.next"), key=K + "ml.next", on_click=_advance, args=(1,),
                   icon=":material/chevron_right:")
    stage = stages.segmented_control(tr("neurons.ml.stage"), mlvsdl.LOOP_STAGES, key=K + "loop.stage", required=True,
                                     format_func=lambda s: tr(f"neurons.ml.viz.stage_{s}"))
    s = _loop(lr)[k]
    st.plotly_chart(loop_figure(s, mlvsdl.LOOP_STAGES.index(stage), lr, lang=lang()), key=K + "fig.ml_loop")
    st.plotly_chart(image_grid_figure(s.images, titles=[str(v) for v in s.labels[:len(s.images)]],
                                      cols=len(s.images), lang=lang(), height=130), key=K + "fig.ml_batch")
    if stage == "step":
        key = "neurons.ml.loop_down" if s.loss_after < s.loss_before else "neurons.ml.loop_up"
        (st.success if s.loss_after < s.loss_before else st.warning)(
            tr(key, before=f"{s.loss_before:.4f}", after=f"{s.loss_after:.4f}", lr=f"{lr:g}"))
    st.caption(tr("neurons.ml.loop_caption", batch=mlvsdl.LOOP_BATCH, hidden=mlvsdl.LOOP_HIDDEN))


def panel() -> None:
    st.markdown(tr("neurons.ml.intro"))
    left, right = st.columns(2)
    name = left.selectbox(tr("neurons.ml.data"), mlvsdl.DATASETS, key=K + "ml.data",
                          format_func=lambda n: tr(f"datasets.{n}"))
    seed = _slider("ml.seed", tr("neurons.ml.seed"), "ml_seed", col=right)
    start = ss.get(K + "panel") == "mlvsdl"  # the training waits until this tab is the open one
    if not start:
        st.caption(tr("neurons.ml.waits"))
    done = _features(name, seed, start)
    _shuffle(name, seed, start and done)
    _loop_panel()
