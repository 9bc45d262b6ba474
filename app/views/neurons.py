"""Neurons and losses (the book's lessons 2 and 3): a perceptron on the plane, activations with their derivatives,
depth without a nonlinearity, losses, and backpropagation on a tiny network one operation at a time; and lesson 1's
"ML vs DL" tab (app.neurons_mlvsdl: hand-made features against a CNN, shuffled pixels, the training loop).

Every panel is instant: the numbers come from pure functions in labcore.basics (torch.autograd and
torch.nn.functional), the figures from labcore.basics.figures. Every widget's key is "nr." + its link param.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import approximation, links, neurons_mlvsdl, present
from app.state import lang, tr
from labcore.basics import backprop, figures, losses, neurons
from labcore.i18n import DEFAULT_LANG
from labcore.links import NEURON_PANELS, NEURON_RANGES, neurons_names
from labcore.presets import BY_ID, page_script

K = "nr."
PANEL = K + "panel"  # the open tab, as a panel name (the tabs widget itself holds its label, which is translated)
ss = st.session_state


@st.cache_data(show_spinner=False, max_entries=16)
def _depth(layers: int, relu: bool) -> neurons.DepthResult:
    return neurons.depth_demo(layers, relu)


def _slider(name: str, label: str, rng: str, fmt: str = "%.1f", col=st) -> float:
    lo, hi, step = NEURON_RANGES[rng]
    return col.slider(label, lo, hi, step=step, key=K + name, format=fmt)



# -- lesson 2 -------------------------------------------------------------------------------------------------
def _perceptron() -> None:
    st.markdown(tr("neurons.perceptron_intro"))
    c1, c2, c3, c4 = st.columns(4)
    w1 = _slider("perceptron.w1", "w₁", "weight", col=c1)
    w2 = _slider("perceptron.w2", "w₂", "weight", col=c2)
    b = _slider("perceptron.b", "b", "weight", col=c3)
    phi = c4.segmented_control(tr("neurons.phi"), ["sigmoid", "step"], key=K + "perceptron.phi", required=True,
                               format_func=lambda n: tr(f"neurons.phi_{n}"))
    phi_tex = r"\sigma" if phi == "sigmoid" else r"\mathrm{step}"
    st.latex(rf"y = {phi_tex}({w1:g}\,x_1 {w2:+g}\,x_2 {b:+g})")
    grid, out = neurons.perceptron_output(w1, w2, b, phi)
    line = neurons.decision_line(w1, w2, b)
    st.plotly_chart(figures.perceptron_figure(grid, out, w1, w2, b, line, lang=lang()), key=K + "fig.perceptron")
    st.caption(tr("neurons.perceptron_caption"))


def _activations() -> None:
    st.markdown(tr("neurons.activations_intro"))
    left, right = st.columns([1, 2])
    name = left.selectbox(tr("neurons.activation"), neurons.ACTIVATIONS, key=K + "act.name",
                          format_func=lambda n: tr(f"neurons.act_{n}"))
    x0 = _slider("act.x", "x", "x", col=right)
    if name == "softmax":
        view = neurons.softmax_view()
        st.plotly_chart(figures.softmax_figure(view, x0, lang=lang()), key=K + "fig.softmax")
        st.caption(tr("neurons.softmax_note"))
        return
    curve = neurons.activation_curve(name)
    at = neurons.activation_curve(name, [x0])
    st.plotly_chart(figures.activation_figure(curve, x0, lang=lang()), key=K + "fig.activation")
    st.markdown(tr("neurons.act_values", x=f"{x0:g}", y=f"{at.y[0]:.4f}", dy=f"{at.dy[0]:.4f}"))
    edge = neurons.vanishing_edges(curve)
    if name in ("sigmoid", "tanh") and edge is not None:
        box = st.warning if abs(x0) >= edge else st.info
        box(tr("neurons.vanish_note", eps=neurons.VANISH, edge=f"{edge:.1f}", peak=f"{curve.dy.max():.2f}"))
    elif name == "relu":
        st.info(tr("neurons.relu_note"))


def _depth_panel() -> None:
    st.markdown(tr("neurons.depth_intro"))
    left, right = st.columns(2)
    layers = int(_slider("depth.layers", tr("neurons.layers"), "layers", fmt="%d", col=left))
    relu = right.toggle(tr("neurons.relu_toggle"), key=K + "depth.relu")
    result = _depth(layers, relu)
    x, y = neurons.xor_points()
    fig_col, text_col = st.columns([3, 2])
    fig_col.plotly_chart(figures.depth_figure(result, x, y, lang=lang()), key=K + "fig.depth")
    with text_col:
        w, c = result.matrix[0], result.bias[0]
        st.markdown(tr("neurons.depth_matrix", n=layers))
        st.latex(rf"\begin{{aligned}} W_{{{layers}}}\cdots W_1 &= \begin{{bmatrix}} {w[0]:.3f} & {w[1]:.3f} \end{{bmatrix}}"
                 rf"\\ c &= {c:.3f} \end{{aligned}}")
        ok = result.max_difference < 1e-6
        key = "neurons.depth_one" if layers == 1 else "neurons.depth_same" if ok else "neurons.depth_differs"
        (st.success if ok else st.info)(tr(key, d=f"{result.max_difference:.2g}"))
        st.metric(tr("neurons.accuracy"), f"{result.accuracy:.0%}")
        st.caption(tr("neurons.depth_caption", steps=neurons.STEPS))


# -- lesson 3 -------------------------------------------------------------------------------------------------
def _losses() -> None:
    st.markdown(tr("neurons.losses_intro"))
    left, right = st.columns(2)
    p0 = _slider("loss.yhat", "ŷ", "yhat", fmt="%.2f", col=left)
    label = right.segmented_control(tr("neurons.label"), [0, 1], key=K + "loss.y", required=True)
    bce0, mse0 = float(losses.bce([p0], label)[0]), float(losses.mse([p0], label)[0])
    st.plotly_chart(figures.loss_figure(losses.loss_curves(), p0, label, bce0, mse0, lang=lang()), key=K + "fig.loss")
    st.markdown(tr("neurons.loss_values", y=label, p=f"{p0:.2f}", bce=f"{bce0:.3f}", mse=f"{mse0:.3f}"))
    if abs(p0 - label) >= 0.9:
        st.warning(tr("neurons.explode_note", bce=f"{bce0:.2f}", mse=f"{mse0:.2f}"))
    st.subheader(tr("neurons.ce_title"))
    st.markdown(tr("neurons.ce_intro"))
    cols = st.columns(losses.N_CLASSES + 1)
    logits = [_slider(f"ce.z{k + 1}", tr("neurons.logit", n=k + 1), "logit", col=cols[k]) for k in range(losses.N_CLASSES)]
    true = cols[-1].selectbox(tr("neurons.true_class"), list(range(losses.N_CLASSES)), key=K + "ce.true",
                              format_func=lambda k: tr("neurons.viz.class_n", n=k + 1))
    ce = losses.cross_entropy(logits, true)
    st.plotly_chart(figures.cross_entropy_figure(ce, lang=lang()), key=K + "fig.ce")
    st.markdown(tr("neurons.ce_values", n=true + 1, p=f"{ce.probs[true]:.4f}", nlp=f"{ce.neg_log_p:.4f}",
                   ce=f"{ce.loss:.4f}"))


def _step(delta: int) -> None:
    lo, hi, _ = NEURON_RANGES["step"]
    ss[K + "bp.step"] = int(min(max(ss.get(K + "bp.step", 0) + delta, lo), hi))


def _backprop() -> None:
    st.markdown(tr("neurons.backprop_intro"))
    c = st.columns(5)
    x1 = _slider("bp.x1", "x₁", "input", col=c[0])
    x2 = _slider("bp.x2", "x₂", "input", col=c[1])
    y = c[2].segmented_control(tr("neurons.label"), [0, 1], key=K + "bp.y", required=True)
    hidden = c[3].selectbox(tr("neurons.hidden"), backprop.HIDDEN, key=K + "bp.hidden",
                            format_func=lambda n: tr(f"neurons.act_{n}"))
    seed = int(_slider("bp.seed", tr("neurons.seed"), "seed", fmt="%d", col=c[4]))
    net = backprop.Net(x1=x1, x2=x2, y=int(y), hidden=hidden, params=backprop.random_params(seed))
    walk = backprop.walk(net)
    back, slider, forward = st.columns([1, 6, 1], vertical_alignment="bottom")
    back.button(tr("neurons.prev"), key=K + "prev", on_click=_step, args=(-1,), icon=":material/chevron_left:")
    forward.button(tr("neurons.next"), key=K + "next", on_click=_step, args=(1,), icon=":material/chevron_right:")
    k = int(_slider("bp.step", tr("neurons.step"), "step", fmt="%d", col=slider))
    step = walk.steps[k]
    st.markdown(tr(f"neurons.step_{step.kind}", k=k, n=len(walk.steps) - 1))
    for formula in step.formulas:
        st.code(formula, language=None)
    st.plotly_chart(figures.graph_figure(walk, k, lang=lang()), key=K + "fig.graph")
    st.caption(tr("neurons.graph_caption"))
    if st.button(tr("neurons.fd_button"), key=K + "fd", icon=":material/calculate:"):
        fd = backprop.finite_differences(net)
        _, auto = backprop.autograd(net)
        rows = [{tr("neurons.fd_param"): backprop.LABELS[p], tr("neurons.fd_backprop"): walk.grads[p],
                 tr("neurons.fd_autograd"): auto[p], tr("neurons.fd_numeric"): fd[p],
                 tr("neurons.fd_difference"): abs(fd[p] - walk.grads[p])} for p in backprop.PARAMS]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        worst = max(abs(fd[p] - walk.grads[p]) for p in backprop.PARAMS)
        (st.success if worst < 1e-6 else st.warning)(tr("neurons.fd_agree", d=f"{worst:.1e}"))
    carried = {"lang": lang()} if lang() != DEFAULT_LANG else {}
    carried |= {"present": "1"} if present.presenting() else {}
    st.page_link(page_script("playground"), label=tr("neurons.playground_link"), icon=":material/landscape:",
                 query_params={**BY_ID["one-weight-zigzag"].query, **carried})


# -- the page ---------------------------------------------------------------------------------------------------
links.setup_tabs("neurons", K, NEURON_PANELS, neurons_names())
st.title(tr("neurons.title"))
st.caption(tr("neurons.intro"))
PANELS = {"perceptron": _perceptron, "activations": _activations, "depth": _depth_panel,
          "approximation": approximation.panel, "losses": _losses, "backprop": _backprop, "mlvsdl": neurons_mlvsdl.panel}
tabs = links.tabs("neurons", K, NEURON_PANELS)
for tab, panel in zip(tabs, NEURON_PANELS, strict=True):
    with tab:
        PANELS[panel]()
