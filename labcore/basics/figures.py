"""Plotly figures for the Neurons page (lessons 2 and 3): data from labcore.basics in, a Figure out, text from the
catalogue's `neurons.viz` table."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labcore.basics import backprop
from labcore.basics.backprop import INPUTS_OF, LABELS, OPS, PARAMS, Walk
from labcore.basics.losses import CrossEntropy
from labcore.basics.neurons import BOX, VANISH, Curve, DepthResult, SoftmaxView
from labcore.i18n import t
from labcore.viz.points import decision_boundary_figure
from labcore.viz.theme import BAD_COLOR, GOOD_COLOR, NEUTRAL_COLOR, PALETTE, log_axis, rgba, styled_figure

HEIGHT = 420
CURVE, SLOPE = PALETTE[0], PALETTE[1]


def _axis(title: str, **more) -> dict:
    return {"title": {"text": title}, "zeroline": False, **more}


def _panel_title(text: str, xref: str) -> dict:
    return {"text": f"<b>{text}</b>", "xref": xref, "yref": "paper", "x": 0, "y": 1.0, "xanchor": "left",
            "yanchor": "bottom", "showarrow": False, "font": {"size": 13}}


# -- lesson 2 ---------------------------------------------------------------------------------------------------
def perceptron_figure(grid: np.ndarray, out: np.ndarray, w1: float, w2: float, b: float,
                      line: tuple[np.ndarray, np.ndarray] | None, *, lang: str = "en") -> go.Figure:
    """The output φ(w·x + b) as a heat map over the plane, the decision line w·x + b = 0 and the weight vector w
    (perpendicular to the line, pointing to where the output grows)."""
    data = [go.Heatmap(x=grid, y=grid, z=out, zmin=0, zmax=1, colorscale="RdBu_r", zsmooth="best",
                       colorbar={"title": {"text": "y"}, "thickness": 12},
                       hovertemplate="x₁ %{x:.2f}, x₂ %{y:.2f}<br>y = %{z:.3f}<extra></extra>")]
    annotations = []
    if line is not None:
        data.append(go.Scatter(x=line[0], y=line[1], mode="lines", line={"color": "black", "width": 3},
                               name=t("neurons.viz.decision_line", lang), hoverinfo="skip"))
        norm2 = w1 * w1 + w2 * w2
        foot = np.array([-b * w1 / norm2, -b * w2 / norm2])  # the point of the line nearest the origin
        tip = foot + np.array([w1, w2]) / np.sqrt(norm2)
        if np.all(np.abs(foot) <= BOX[1]) and np.all(np.abs(tip) <= BOX[1]):
            annotations.append({"x": tip[0], "y": tip[1], "ax": foot[0], "ay": foot[1], "xref": "x", "yref": "y",
                                "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 3, "arrowwidth": 2.5,
                                "arrowcolor": "black", "text": "w"})
    else:
        annotations.append({"text": t("neurons.viz.no_line", lang), "xref": "paper", "yref": "paper", "x": 0.5,
                            "y": 0.5, "showarrow": False, "bgcolor": "white"})
    axis = {"range": list(BOX), "constrain": "domain", "zeroline": False}
    layout = {"xaxis": {**axis, "title": {"text": "x₁"}},
              "yaxis": {**axis, "title": {"text": "x₂"}, "scaleanchor": "x", "scaleratio": 1},
              "annotations": annotations, "showlegend": line is not None}
    return styled_figure(data, layout, height=HEIGHT, lang=lang)


def activation_figure(curve: Curve, x0: float, *, lang: str = "en") -> go.Figure:
    """φ and its derivative φ' (torch.autograd) on one axis; where |φ'| < VANISH is shaded: no gradient passes."""
    i = int(np.argmin(np.abs(curve.x - x0)))
    shapes, start = [], None
    for j, dead in enumerate([*curve.vanishing, False]):
        if dead and start is None:
            start = j
        elif not dead and start is not None:
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": curve.x[start],
                           "x1": curve.x[min(j, len(curve.x) - 1)], "y0": 0, "y1": 1, "line": {"width": 0},
                           "fillcolor": rgba(BAD_COLOR, 0.1), "layer": "below"})
            start = None
    data = [
        go.Scatter(x=curve.x, y=curve.y, mode="lines", line={"color": CURVE, "width": 3},
                   name=t("neurons.viz.phi", lang), hovertemplate="x = %{x:.2f}<br>φ = %{y:.4f}<extra></extra>"),
        go.Scatter(x=curve.x, y=curve.dy, mode="lines", line={"color": SLOPE, "width": 2.5, "dash": "dash"},
                   name=t("neurons.viz.dphi", lang), hovertemplate="x = %{x:.2f}<br>φ' = %{y:.4f}<extra></extra>"),
        go.Scatter(x=[curve.x[i], curve.x[i]], y=[curve.y[i], curve.dy[i]], mode="markers", showlegend=False,
                   marker={"color": [CURVE, SLOPE], "size": 12, "line": {"color": "black", "width": 1}},
                   hoverinfo="skip"),
    ]
    if shapes:
        data.append(go.Scatter(x=[None], y=[None], mode="markers", marker={"symbol": "square", "size": 12,
                                                                          "color": rgba(BAD_COLOR, 0.25)},
                               name=t("neurons.viz.vanishing", lang, eps=VANISH)))
    layout = {"xaxis": _axis("x"), "yaxis": _axis(t("neurons.viz.value", lang)), "shapes": shapes,
              "hovermode": "x unified"}
    return styled_figure(data, layout, height=HEIGHT, lang=lang)


def softmax_figure(view: SoftmaxView, x0: float, *, lang: str = "en") -> go.Figure:
    """Left: each softmax output p_i as the first logit x moves (solid), with ∂p_i/∂x (dashed, autograd).
    Right: the four probabilities at x = x0."""
    i = int(np.argmin(np.abs(view.x - x0)))
    names = [f"p{k + 1}" for k in range(view.p.shape[1])]
    data = []
    for k, name in enumerate(names):
        color = PALETTE[k]
        data.append(go.Scatter(x=view.x, y=view.p[:, k], mode="lines", line={"color": color, "width": 2.5},
                               name=name, legendgroup=name))
        data.append(go.Scatter(x=view.x, y=view.dp[:, k], mode="lines", legendgroup=name, showlegend=False,
                               line={"color": color, "width": 1.5, "dash": "dash"},
                               name=f"∂{name}/∂x"))
    data.append(go.Bar(x=names, y=view.p[i], marker={"color": list(PALETTE[: len(names)])}, xaxis="x2", yaxis="y2",
                       text=[f"{v:.3f}" for v in view.p[i]], textposition="outside", showlegend=False,
                       hovertemplate="%{x} = %{y:.4f}<extra></extra>"))
    layout = {
        "xaxis": _axis("x", domain=[0, 0.6]), "yaxis": _axis(t("neurons.viz.value", lang)),
        "xaxis2": {"domain": [0.7, 1], "anchor": "y2"}, "yaxis2": {"anchor": "x2", "range": [0, 1.15]},
        "shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": view.x[i], "x1": view.x[i], "y0": 0,
                    "y1": 1, "line": {"color": NEUTRAL_COLOR, "dash": "dot"}}],
        "annotations": [_panel_title(t("neurons.viz.softmax_at", lang, x=f"{view.x[i]:.1f}"), "x2 domain")],
        "margin": {"t": 64},
    }
    return styled_figure(data, layout, height=HEIGHT, lang=lang)


def depth_figure(result: DepthResult, x: np.ndarray, y: np.ndarray, *, lang: str = "en") -> go.Figure:
    """The trained stack's P(x₁ ≠ x₂) over the plane with the XOR points (Train's decision-boundary look)."""
    probs = np.stack([1 - result.probs, result.probs], -1)
    names = [t("neurons.viz.xor_same", lang), t("neurons.viz.xor_differ", lang)]
    return decision_boundary_figure(result.grid, result.grid, probs, x, y, names, lang=lang, height=HEIGHT)


# -- lesson 3 ---------------------------------------------------------------------------------------------------
def loss_figure(curves: dict[str, np.ndarray], p0: float, y: int, bce0: float, mse0: float, *,
                lang: str = "en") -> go.Figure:
    """BCE and MSE against ŷ for y = 0 and y = 1; the chosen ŷ marked on the chosen label's two curves."""
    p = curves["p"]
    data = []
    for label, color in ((0, PALETTE[0]), (1, PALETTE[2])):
        width = 3.5 if label == y else 1.5
        data.append(go.Scatter(x=p, y=curves[f"bce{label}"], mode="lines", line={"color": color, "width": width},
                               name=t("neurons.viz.bce", lang, y=label)))
        data.append(go.Scatter(x=p, y=curves[f"mse{label}"], mode="lines",
                               line={"color": color, "width": width, "dash": "dot"},
                               name=t("neurons.viz.mse", lang, y=label)))
    data.append(go.Scatter(x=[p0, p0], y=[bce0, mse0], mode="markers+text", showlegend=False,
                           marker={"size": 13, "color": "black"}, text=[f"{bce0:.3f}", f"{mse0:.3f}"],
                           textposition="middle right", hoverinfo="skip"))
    layout = {"xaxis": _axis("ŷ", range=[0, 1]), "yaxis": _axis(t("neurons.viz.loss", lang), range=[0, 5])}
    return styled_figure(data, layout, height=HEIGHT, lang=lang)


def cross_entropy_figure(ce: CrossEntropy, *, lang: str = "en") -> go.Figure:
    """Logits (left) -> softmax probabilities (right), the true class in green."""
    names = [t("neurons.viz.class_n", lang, n=k + 1) for k in range(len(ce.logits))]
    colors = [GOOD_COLOR if k == ce.target else NEUTRAL_COLOR for k in range(len(ce.logits))]
    data = [
        go.Bar(x=names, y=ce.logits, marker={"color": colors}, text=[f"{v:.2f}" for v in ce.logits],
               textposition="outside", showlegend=False, hovertemplate="%{x}: z = %{y:.3f}<extra></extra>"),
        go.Bar(x=names, y=ce.probs, marker={"color": colors}, xaxis="x2", yaxis="y2", showlegend=False,
               text=[f"{v:.3f}" for v in ce.probs], textposition="outside",
               hovertemplate="%{x}: p = %{y:.4f}<extra></extra>"),
    ]
    layout = {
        "xaxis": {"domain": [0, 0.44]}, "yaxis": {"range": [-6, 6], "title": {"text": "z"}},
        "xaxis2": {"domain": [0.56, 1], "anchor": "y2"}, "yaxis2": {"anchor": "x2", "range": [0, 1.15],
                                                                   "title": {"text": "p"}},
        "annotations": [_panel_title(t("neurons.viz.logits", lang), "x domain"),
                        _panel_title(t("neurons.viz.softmax", lang), "x2 domain")],
        "margin": {"t": 40},
    }
    return styled_figure(data, layout, height=360, lang=lang)


# The graph's layout: inputs and layer-1 parameters on the left, the loss on the right.
POSITIONS = {
    "x1": (0.0, 3.0), "x2": (0.0, 0.0), "w11": (0.9, 5.2), "w12": (0.9, 4.5), "b1": (0.9, 3.8),
    "w21": (0.9, -0.8), "w22": (0.9, -1.5), "b2": (0.9, -2.2), "z1": (2.0, 3.0), "z2": (2.0, 0.0),
    "h1": (3.2, 3.0), "h2": (3.2, 0.0), "v1": (3.9, 4.6), "v2": (3.9, -1.6), "c": (4.3, 3.4), "o": (4.9, 1.5),
    "yhat": (6.0, 1.5), "y": (6.5, 3.3), "L": (7.2, 1.5),
}


GRAD_DROP = 0.5  # how far below its node a gradient is written (graph units)


def graph_figure(walk: Walk, step: int, *, lang: str = "en") -> go.Figure:
    """The computational graph after `step`: each node shows its value (once the forward pass has reached it) and
    its gradient ∂L/∂node in red (once the backward pass has). The current step's nodes are ringed."""
    values, grads = walk.known(step)
    current = walk.steps[max(0, min(step, len(walk.steps) - 1))]
    now = set(current.nodes) if current.kind != "start" else set()
    if current.kind == "forward":  # an operation reads its inputs
        hot_edges = {(src, op) for op in now for src in INPUTS_OF[op]}
    else:  # the gradient comes back through the one operation that all of this step's nodes feed
        through = next((op for op, srcs in INPUTS_OF.items() if now and now <= set(srcs)), None)
        hot_edges = {(src, through) for src in now} if through else set()
    edges_x, edges_y, hot_x, hot_y = [], [], [], []
    for op, sources in INPUTS_OF.items():
        for src in sources:
            (x0, y0), (x1, y1) = POSITIONS[src], POSITIONS[op]
            hot = (src, op) in hot_edges
            (hot_x if hot else edges_x).extend([x0, x1, None])
            (hot_y if hot else edges_y).extend([y0, y1, None])
    data = [go.Scatter(x=edges_x, y=edges_y, mode="lines", line={"color": "#BBBBBB", "width": 1.5},
                       hoverinfo="skip", showlegend=False),
            go.Scatter(x=hot_x, y=hot_y, mode="lines", line={"color": BAD_COLOR if current.kind == "backward"
                                                            else PALETTE[0], "width": 3.5},
                       hoverinfo="skip", showlegend=False)]
    kinds = {"input": [*backprop.INPUTS, "y"], "param": list(PARAMS), "op": list(OPS)}
    colors = {"input": "#DDDDDD", "param": "#A0CBE8", "op": "#FFBE7D"}
    for kind, nodes in kinds.items():
        xs = [POSITIONS[n][0] for n in nodes]
        ys = [POSITIONS[n][1] for n in nodes]
        text = [f"<b>{LABELS[n]}</b>" + (f" = {values[n]:.3g}" if n in values else "") for n in nodes]
        line_width = [3.5 if n in now else 1 for n in nodes]
        line_color = ["black" if n in now else "#666666" for n in nodes]
        data.append(go.Scatter(x=xs, y=ys, mode="markers+text", text=text, textposition="top center",
                               marker={"size": 22 if kind == "op" else 16, "color": colors[kind],
                                       "symbol": "circle" if kind == "op" else "square",
                                       "line": {"width": line_width, "color": line_color}},
                               name=t(f"neurons.viz.node_{kind}", lang), hoverinfo="skip", cliponaxis=False))
    gx = [POSITIONS[n][0] for n in grads]
    gy = [POSITIONS[n][1] - GRAD_DROP for n in grads]  # under the node's marker, not over it
    data.append(go.Scatter(x=gx, y=gy, mode="text", text=[f"∂L/∂{LABELS[n]} = {g:.3g}" for n, g in grads.items()],
                           textposition="middle center", textfont={"color": BAD_COLOR},
                           name=t("neurons.viz.gradient", lang), hoverinfo="skip", cliponaxis=False))
    hidden = {"xaxis": {"visible": False, "range": [-0.6, 7.9]}, "yaxis": {"visible": False, "range": [-3.0, 5.9]}}
    return styled_figure(data, {**hidden, "plot_bgcolor": "rgba(0,0,0,0)"}, height=520, lang=lang)


# -- universal approximation --------------------------------------------------------------------------------------
def approximation_figure(fits: list, labels: list[str], points: np.ndarray | None = None, *,
                         lang: str = "en") -> go.Figure:
    """Top: the target (black) and each network's fit; bottom: each fit's error |fit − target| along x."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.08)
    first = fits[0]
    fig.add_trace(go.Scatter(x=first.x, y=first.y, mode="lines", name=t("neurons.viz.target", lang),
                             line={"color": "black", "width": 2, "dash": "dot"}), row=1, col=1)
    if points is not None:
        fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name=t("neurons.viz.your_points", lang),
                                 marker={"color": "black", "size": 9}), row=1, col=1)
    for k, (f, label) in enumerate(zip(fits, labels, strict=True)):
        color = PALETTE[k % len(PALETTE)]
        fig.add_trace(go.Scatter(x=f.x, y=f.fit, mode="lines", name=label, line={"color": color, "width": 3},
                                 legendgroup=label), row=1, col=1)
        fig.add_trace(go.Scatter(x=f.x, y=np.abs(f.fit - f.y), mode="lines", name=label, showlegend=False,
                                 legendgroup=label, line={"color": color, "width": 2}, fill="tozeroy",
                                 fillcolor=rgba(color, 0.15)), row=2, col=1)
    fig.update_yaxes(title_text="y", zeroline=False, row=1, col=1)
    fig.update_yaxes(title_text=t("neurons.viz.abs_error", lang), rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="x", row=2, col=1)
    return styled_figure(list(fig.data), fig.layout.to_plotly_json(), height=HEIGHT + 60, hovermode="x unified")


def approximation_loss_figure(fits: list, labels: list[str], *, lang: str = "en") -> go.Figure:
    """Training loss (MSE) per Adam step, log scale."""
    data = [go.Scatter(y=f.losses, mode="lines", name=label, line={"color": PALETTE[k % len(PALETTE)], "width": 2})
            for k, (f, label) in enumerate(zip(fits, labels, strict=True))]
    layout = {"xaxis": _axis(t("neurons.viz.adam_step", lang)),
              "yaxis": _axis(t("neurons.viz.mse_loss", lang), **log_axis(*(f.losses for f in fits)))}
    return styled_figure(data, layout, height=260, hovermode="x unified")
