"""Convolution page (the book's lessons 7 and 8): a kernel slides over a picture with the arithmetic of every
stop, padding/stride/dilation on a grid with the output-size formula, max against average pooling, and the
parameter count of a dense layer against a convolution. Everything is instant; the numbers come from torch
(labcore.basics.convolution)."""

from __future__ import annotations

import streamlit as st
import torch

from app import links, mlp_vs_cnn, receptive
from app.state import lang, lease, readable, registry, tr
from labcore.basics import convolution as cv
from labcore.basics.conv_figures import arithmetic_figure, grid_figure, pooling_figure, window_figure
from labcore.data.images import JPEG_SUFFIXES, PNG_SUFFIXES, UPLOAD_MB, accepted_names, uploader_types
from labcore.i18n import LabError
from labcore.share import MAX_TEXT
from labcore.train.job import TrainingJob
from labcore.tryable import tryable_models, tryable_network

# A link (or the setup this page had when the user left it) goes into the widgets (app/links.py); the widgets
# take their starting values from there, not from `value=`.
LINK_KEYS = {"source": "source", "index": "index", "kernel": "kernel", "custom": "custom", "padding": "padding",
             "pos": "pos", "grid.size": "grid_size", "grid.k": "grid_k", "grid.p": "grid_p", "grid.s": "grid_s",
             "grid.d": "grid_d", "pool": "pool", "pool.relu": "pool_relu", "calc.h": "calc_h", "calc.w": "calc_w",
             "calc.c": "calc_c", "calc.units": "calc_units", "calc.filters": "calc_filters", "calc.k": "calc_k",
             "calc.bias": "calc_bias", "mvc.data": "mvc_data", "mvc.epochs": "mvc_epochs",
             "filter": "filter", "rf.data": "rf_data", "rf.depth": "rf_depth", "rf.layer": "rf_layer", "rf.index": "rf_index"}
REFUSED = "conv.custom_refused"  # a typed kernel the link could not carry, reported once


def _picture(source: str, slot) -> torch.Tensor | None:
    """The picture to convolve: a built-in one, or the upload (None until a readable one is given)."""
    if source != "upload":
        hi = cv.N_IMAGES[source] - 1
        index = slot.slider(tr("convolution.index", n=hi), 0, hi, key="conv.index")
        return cv.load_image(source, index)
    photo = PNG_SUFFIXES + JPEG_SUFFIXES
    limit = tr("transfer.upload.limit_files", mb=UPLOAD_MB, accepted=accepted_names(photo))
    upload = slot.file_uploader(tr("convolution.upload"), type=uploader_types(photo), key="conv.upload",
                                max_upload_size=UPLOAD_MB, help=limit)
    if upload is None:
        st.info(tr("convolution.upload_hint"))
        return None
    try:
        return cv.upload_image(upload.getvalue())
    except LabError as e:
        st.warning(tr("convolution.upload_refused", why=e.message(lang())), icon=":material/broken_image:")
        return None


def _typed() -> None:
    """A typed kernel, before the run: a typographic minus becomes "-"; text a link cannot carry (not ASCII, too
    long) is reported here, because the run's link check puts the default kernel back in its place."""
    text = st.session_state.get("conv.custom", "").replace("\u2212", "-")
    st.session_state["conv.custom"] = text
    if not (text.isascii() and text.isprintable() and len(text) <= MAX_TEXT):
        st.session_state[REFUSED] = text


def _trained_kernel() -> torch.Tensor | None:
    """A first-layer filter of the newest CNN this tab trained (Train page, race, MLP vs CNN, ...)."""
    jobs = registry().jobs(owner=lease().owner, of=TrainingJob)
    for t in tryable_models(jobs):
        net, data = tryable_network(registry().get(t.job_id), t)
        filters = cv.first_filters(net)
        if filters is not None:
            break
    else:
        st.info(tr("convolution.no_trained"), icon=":material/info:")
        return None
    n = len(filters)
    st.session_state["conv.filter"] = min(st.session_state.get("conv.filter", 0), n - 1)
    i = st.slider(tr("convolution.filter", n=n - 1), 0, n - 1, key="conv.filter") if n > 1 else 0
    st.caption(tr("convolution.trained_note", model=readable(t.model, "models", "transfer.backbone_"),
                  data=readable(t.data, "datasets", "transfer.target_"), acc=t.accuracy, n=n))
    return filters[i]


def _kernel(name: str) -> torch.Tensor | None:
    if name == cv.TRAINED:
        return _trained_kernel()
    if name == cv.CUSTOM:
        st.text_input(tr("convolution.custom"), key="conv.custom", help=tr("convolution.custom_help"),
                      on_change=_typed)
        if st.session_state.pop(REFUSED, None) is not None:
            st.error(tr("convolution.bad_kernel", why=tr("convolution.why_text", most=MAX_TEXT)), icon=":material/error:")
    try:
        return cv.kernel_tensor(name, st.session_state.get("conv.custom", cv.DEFAULT_CUSTOM))
    except LabError as e:
        st.error(tr("convolution.bad_kernel", why=e.message(lang())), icon=":material/error:")
        return None


def _window_tab() -> torch.Tensor | None:
    """Picture, kernel and the window's stop; returns the feature map (for the pooling tab) or None."""
    st.caption(tr("convolution.window_intro"))
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
    source = c1.selectbox(tr("convolution.source"), cv.SOURCES, key="conv.source",
                          format_func=lambda s: tr(f"convolution.source_{s}"))
    name = c3.selectbox(tr("convolution.kernel"), cv.KERNEL_NAMES, key="conv.kernel",
                        format_func=lambda k: tr(f"convolution.kernel_{k}"))
    padding = c4.toggle(tr("convolution.padding"), key="conv.padding", help=tr("convolution.padding_help"))
    kernel = _kernel(name)
    image = _picture(source, c2)
    if kernel is None or image is None:
        return None
    k = int(kernel.shape[0])
    n = cv.positions(source, k, padding)
    if n == 0:
        st.warning(tr("convolution.why_too_big", k=k, h=int(image.shape[0]), w=int(image.shape[1])))
        return None
    pos = st.slider(tr("convolution.position", n=n), 0, n - 1, key="conv.pos") if n > 1 else 0
    win = cv.window(image, kernel, pos, padding)
    st.plotly_chart(window_figure(win, lang=lang()), key="conv.window_fig")
    st.markdown(tr("convolution.stop", row=win.row, col=win.col, value=f"{win.value:.4g}"))
    st.plotly_chart(arithmetic_figure(win, lang=lang()), key="conv.arith_fig")
    st.caption(tr("convolution.window_help"))
    return win.fmap


def _grid_tab() -> None:
    st.caption(tr("convolution.grid_intro"))
    cols = st.columns(5)
    values = {}
    for col, name in zip(cols, ("size", "k", "p", "s", "d"), strict=True):
        lo, hi, _ = cv.GRID[name]
        values[name] = col.slider(tr(f"convolution.grid_{name}"), lo, hi, key=f"conv.grid_{name}")
    n, k, p, s, d = (values[x] for x in ("size", "k", "p", "s", "d"))
    g = cv.grid(n, k, p, s, d)
    st.latex(rf"H_{{out}} = \left\lfloor \frac{{H + 2p - d(k-1) - 1}}{{s}} \right\rfloor + 1 = "
             rf"\left\lfloor \frac{{{n} + 2\cdot{p} - {d}\cdot({k}-1) - 1}}{{{s}}} \right\rfloor + 1 = {g.formula}")
    if g.actual is None:
        st.warning(tr("convolution.grid_no_fit", span=g.span, side=n + 2 * p), icon=":material/block:")
    else:
        st.success(tr("convolution.grid_torch", out=g.actual, n=n, same=tr("convolution.grid_same")
                      if g.actual == g.formula else ""), icon=":material/check:")
    st.plotly_chart(grid_figure(g, lang=lang()), key="conv.grid_fig")
    st.caption(tr("convolution.grid_help"))


def _pool_tab(fmap: torch.Tensor | None) -> None:
    st.caption(tr("convolution.pool_intro"))
    c1, c2 = st.columns(2)
    size = c1.select_slider(tr("convolution.pool_size"), cv.POOL_SIZES, key="conv.pool")
    relu = c2.toggle(tr("convolution.pool_relu"), key="conv.pool_relu")
    if fmap is None:
        st.info(tr("convolution.pool_no_map"))
        return
    try:
        pooled = cv.pool(fmap, size, relu)
    except LabError as e:
        st.warning(e.message(lang()))
        return
    st.plotly_chart(pooling_figure(*pooled, lang=lang()), key="conv.pool_fig")
    st.caption(tr("convolution.pool_help"))


def _params_tab() -> None:
    st.caption(tr("convolution.params_intro"))
    cols = st.columns(6)
    v = {}
    for col, name in zip(cols, ("h", "w", "c", "units", "filters", "k"), strict=True):
        lo, hi, _ = cv.CALC[name]
        v[name] = int(col.number_input(tr(f"convolution.calc_{name}"), lo, hi, step=1, key=f"conv.calc_{name}"))
    bias = st.toggle(tr("convolution.calc_bias"), key="conv.calc_bias")
    counts = cv.param_counts(v["h"], v["w"], v["c"], v["units"], v["filters"], v["k"], bias)
    m1, m2, m3 = st.columns(3)
    m1.metric(tr("convolution.calc_dense"), f"{counts.dense:,}")
    m2.metric(tr("convolution.calc_conv"), f"{counts.conv:,}")
    m3.metric(tr("convolution.calc_ratio"), f"{counts.ratio:,.1f}×")
    st.markdown(tr("convolution.calc_table", inputs=f"{counts.inputs:,}", dense=f"{counts.dense:,}",
                   conv=f"{counts.conv:,}", bias_dense=tr("convolution.calc_bias_units") if bias else "",
                   bias_conv=tr("convolution.calc_bias_filters") if bias else ""))
    st.caption(tr("convolution.calc_help"))


links.setup(links.keys_with_prefix("convolution", "conv.", LINK_KEYS))
st.title(tr("convolution.title"))
st.caption(tr("convolution.intro"))
window_tab, grid_tab, pool_tab, rf_tab, params_tab, mvc_tab = st.tabs(
    [tr("convolution.tab_window"), tr("convolution.tab_grid"), tr("convolution.tab_pool"), tr("convolution.tab_rf"),
     tr("convolution.tab_params"), tr("convolution.tab_mvc")])
with window_tab:
    feature = _window_tab()
with grid_tab:
    _grid_tab()
with pool_tab:
    _pool_tab(feature)
with rf_tab:
    receptive.tab()
with params_tab:
    _params_tab()
with mvc_tab:
    mlp_vs_cnn.tab()
