"""Lesson 3's backpropagation, one operation at a time, on the smallest network with a hidden layer:
2 inputs -> 2 hidden neurons (sigmoid, tanh or ReLU) -> 1 output neuron (sigmoid), binary cross-entropy loss.

`walk(net)` runs the forward pass and then the chain rule by hand, one operation per step, recording each node's
value and each node's gradient ∂L/∂node as it becomes known. `autograd(net)` computes the same numbers with
torch.autograd and `finite_differences(net)` estimates ∂L/∂parameter without any calculus; tests hold all three
to agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

HIDDEN = ("sigmoid", "tanh", "relu")
PARAMS = ("w11", "w12", "b1", "w21", "w22", "b2", "v1", "v2", "c")
INPUTS = ("x1", "x2")
OPS = ("z1", "z2", "h1", "h2", "o", "yhat", "L")
LABELS = {"x1": "x₁", "x2": "x₂", "w11": "w₁₁", "w12": "w₁₂", "b1": "b₁", "w21": "w₂₁", "w22": "w₂₂", "b2": "b₂",
          "z1": "z₁", "z2": "z₂", "h1": "h₁", "h2": "h₂", "v1": "v₁", "v2": "v₂", "c": "c", "o": "o", "yhat": "ŷ",
          "y": "y", "L": "L"}
# Which nodes feed each operation (the graph's edges).
INPUTS_OF = {"z1": ("x1", "x2", "w11", "w12", "b1"), "z2": ("x1", "x2", "w21", "w22", "b2"), "h1": ("z1",),
             "h2": ("z2",), "o": ("h1", "h2", "v1", "v2", "c"), "yhat": ("o",), "L": ("yhat", "y")}
X_RANGE, SEEDS = (-2.0, 2.0), (0, 99)


@dataclass(frozen=True)
class Net:
    """One example (x1, x2) with its label y, the hidden activation and the nine parameters."""

    x1: float = 1.0
    x2: float = -0.5
    y: int = 1
    hidden: str = "sigmoid"
    params: dict[str, float] = field(default_factory=lambda: random_params(0))


def random_params(seed: int) -> dict[str, float]:
    """Nine weights uniform in [−1, 1], rounded to two decimals so the step-by-step arithmetic stays readable."""
    g = torch.Generator().manual_seed(int(seed))
    values = torch.rand(len(PARAMS), generator=g, dtype=torch.float64) * 2 - 1
    return {name: round(float(v), 2) for name, v in zip(PARAMS, values, strict=True)}


def _act(name: str, z: float) -> float:
    if name == "sigmoid":
        return 1 / (1 + math.exp(-z))
    if name == "tanh":
        return math.tanh(z)
    return max(z, 0.0)


def _act_grad(name: str, z: float, h: float) -> float:
    """The activation's local derivative at z (h = φ(z)): the chain rule's one hand-written factor per neuron."""
    if name == "sigmoid":
        return h * (1 - h)
    if name == "tanh":
        return 1 - h * h
    return 1.0 if z > 0 else 0.0


ACT_GRAD_TEXT = {"sigmoid": "σ'({z}) = σ·(1−σ) = {d}", "tanh": "tanh'({z}) = 1 − tanh² = {d}",
                 "relu": "ReLU'({z}) = {d}"}
ACT_TEXT = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU"}


def _g(v: float) -> str:
    return f"{v:.4g}".replace("-", "−")


def _f(v: float) -> str:
    """A number in a formula: four significant digits, a negative one in brackets."""
    return f"({_g(v)})" if v < 0 else _g(v)


@dataclass(frozen=True)
class Step:
    kind: str  # "start", "forward" or "backward"
    nodes: tuple[str, ...]  # the nodes this step computes (a value forward, a gradient backward)
    formulas: tuple[str, ...]  # the arithmetic, with the numbers (language-free math)
    grads: dict[str, float] = field(default_factory=dict)  # gradients this step sets (x1, x2: partial, then whole)


@dataclass(frozen=True)
class Walk:
    net: Net
    values: dict[str, float]  # every node's forward value
    grads: dict[str, float]  # every node's ∂L/∂node (the end of the backward pass)
    steps: tuple[Step, ...]

    def known(self, k: int) -> tuple[dict[str, float], dict[str, float]]:
        """The values and gradients on show after step k (0 = only the inputs and parameters)."""
        k = max(0, min(k, len(self.steps) - 1))
        done = [n for s in self.steps[: k + 1] if s.kind == "forward" for n in s.nodes]
        values = {n: v for n, v in self.values.items() if n not in OPS or n in done}
        grads: dict[str, float] = {}
        for s in self.steps[: k + 1]:
            grads.update(s.grads)
        return values, grads


def forward(net: Net, params: dict[str, float] | None = None) -> dict[str, float]:
    """Every node's value (the forward pass), in plain floating point."""
    p = params if params is not None else net.params
    v = {"x1": net.x1, "x2": net.x2, "y": float(net.y), **p}
    v["z1"] = p["w11"] * net.x1 + p["w12"] * net.x2 + p["b1"]
    v["z2"] = p["w21"] * net.x1 + p["w22"] * net.x2 + p["b2"]
    v["h1"], v["h2"] = _act(net.hidden, v["z1"]), _act(net.hidden, v["z2"])
    v["o"] = p["v1"] * v["h1"] + p["v2"] * v["h2"] + p["c"]
    v["yhat"] = 1 / (1 + math.exp(-v["o"]))
    yh = v["yhat"]
    v["L"] = -(net.y * math.log(yh) + (1 - net.y) * math.log(1 - yh)) if 0 < yh < 1 else math.inf
    return v


def walk(net: Net) -> Walk:
    """The forward pass one operation at a time, then the backward pass (the chain rule) one operation at a time."""
    v, a = forward(net), net.hidden
    act = ACT_TEXT[a]
    steps = [Step("start", INPUTS + PARAMS, ())]
    for i in ("1", "2"):
        w1, w2, b = f"w{i}1", f"w{i}2", f"b{i}"
        steps.append(Step("forward", (f"z{i}",), (
            f"z{_sub(i)} = w{_sub(i)}₁·x₁ + w{_sub(i)}₂·x₂ + b{_sub(i)} = {_f(v[w1])}·{_f(v['x1'])} + "
            f"{_f(v[w2])}·{_f(v['x2'])} + {_f(v[b])} = {_f(v[f'z{i}'])}",)))
    for i in ("1", "2"):
        steps.append(Step("forward", (f"h{i}",), (f"h{_sub(i)} = {act}(z{_sub(i)}) = {act}({_g(v[f'z{i}'])}) = "
                                                   f"{_f(v[f'h{i}'])}",)))
    steps.append(Step("forward", ("o",), (f"o = v₁·h₁ + v₂·h₂ + c = {_f(v['v1'])}·{_f(v['h1'])} + "
                                         f"{_f(v['v2'])}·{_f(v['h2'])} + {_f(v['c'])} = {_f(v['o'])}",)))
    steps.append(Step("forward", ("yhat",), (f"ŷ = σ(o) = σ({_g(v['o'])}) = {_f(v['yhat'])}",)))
    steps.append(Step("forward", ("L",), (f"L = −[y·log ŷ + (1−y)·log(1−ŷ)] = −[{net.y}·log {_f(v['yhat'])} + "
                                         f"{1 - net.y}·log {_f(1 - v['yhat'])}] = {_f(v['L'])}",)))
    # The backward pass: each operation hands its output's gradient to its inputs, times its local derivative.
    g: dict[str, float] = {"L": 1.0}
    steps.append(Step("backward", ("L",), ("∂L/∂L = 1",), {"L": 1.0}))
    y, yh = net.y, v["yhat"]
    g["yhat"] = -y / yh + (1 - y) / (1 - yh)
    steps.append(Step("backward", ("yhat",), (
        f"∂L/∂ŷ = −y/ŷ + (1−y)/(1−ŷ) = −{y}/{_f(yh)} + {1 - y}/{_f(1 - yh)} = {_f(g['yhat'])}",), {"yhat": g["yhat"]}))
    local = yh * (1 - yh)
    g["o"] = g["yhat"] * local
    steps.append(Step("backward", ("o",), (
        f"∂L/∂o = ∂L/∂ŷ · σ'(o) = {_f(g['yhat'])} · {_f(local)} = {_f(g['o'])}",), {"o": g["o"]}))
    g["v1"], g["v2"], g["c"] = g["o"] * v["h1"], g["o"] * v["h2"], g["o"]
    g["h1"], g["h2"] = g["o"] * v["v1"], g["o"] * v["v2"]
    do = _f(g["o"])
    steps.append(Step("backward", ("v1", "v2", "c", "h1", "h2"), (
        f"∂L/∂v₁ = ∂L/∂o · h₁ = {do}·{_f(v['h1'])} = {_f(g['v1'])}",
        f"∂L/∂v₂ = ∂L/∂o · h₂ = {do}·{_f(v['h2'])} = {_f(g['v2'])}",
        f"∂L/∂c = ∂L/∂o · 1 = {_f(g['c'])}",
        f"∂L/∂h₁ = ∂L/∂o · v₁ = {do}·{_f(v['v1'])} = {_f(g['h1'])}",
        f"∂L/∂h₂ = ∂L/∂o · v₂ = {do}·{_f(v['v2'])} = {_f(g['h2'])}"),
        {k: g[k] for k in ("v1", "v2", "c", "h1", "h2")}))
    for i in ("1", "2"):
        z, h = v[f"z{i}"], v[f"h{i}"]
        d = _act_grad(a, z, h)
        g[f"z{i}"] = g[f"h{i}"] * d
        s = _sub(i)
        steps.append(Step("backward", (f"z{i}",), (
            f"∂L/∂z{s} = ∂L/∂h{s} · " + ACT_GRAD_TEXT[a].format(z=_g(z), d=_f(d)).split(" = ")[0]
            + f" = {_f(g[f'h{i}'])} · {_f(d)} = {_f(g[f'z{i}'])}",), {f"z{i}": g[f"z{i}"]}))
    g["x1"] = g["x2"] = 0.0
    for i in ("1", "2"):
        dz, s = g[f"z{i}"], _sub(i)
        g[f"w{i}1"], g[f"w{i}2"], g[f"b{i}"] = dz * v["x1"], dz * v["x2"], dz
        g["x1"] += dz * v[f"w{i}1"]
        g["x2"] += dz * v[f"w{i}2"]
        inputs = []
        for j in ("1", "2"):  # an input feeds both hidden neurons: its gradient is the sum over both paths
            first = g["z1"] * v[f"w1{j}"]
            if i == "1":
                inputs.append(f"∂L/∂x{_sub(j)} = ∂L/∂z₁ · w₁{_sub(j)} + … = {_f(first)} + …")
            else:
                inputs.append(f"∂L/∂x{_sub(j)} = ∂L/∂z₁ · w₁{_sub(j)} + ∂L/∂z₂ · w₂{_sub(j)} = {_f(first)} + "
                              f"{_f(dz * v[f'w2{j}'])} = {_f(g[f'x{j}'])}")
        steps.append(Step("backward", (f"w{i}1", f"w{i}2", f"b{i}", "x1", "x2"), (
            f"∂L/∂w{s}₁ = ∂L/∂z{s} · x₁ = {_f(dz)}·{_f(v['x1'])} = {_f(g[f'w{i}1'])}",
            f"∂L/∂w{s}₂ = ∂L/∂z{s} · x₂ = {_f(dz)}·{_f(v['x2'])} = {_f(g[f'w{i}2'])}",
            f"∂L/∂b{s} = ∂L/∂z{s} · 1 = {_f(g[f'b{i}'])}", *inputs),
            {f"w{i}1": g[f"w{i}1"], f"w{i}2": g[f"w{i}2"], f"b{i}": g[f"b{i}"], "x1": g["x1"], "x2": g["x2"]}))
    return Walk(net, v, g, tuple(steps))


def _sub(i: str) -> str:
    return {"1": "₁", "2": "₂"}[i]


def autograd(net: Net) -> tuple[dict[str, float], dict[str, float]]:
    """The same forward values and gradients from torch.autograd (float64): leaves require grad, the
    intermediate nodes retain theirs."""
    leaf = {n: torch.tensor(float(net.params[n] if n in PARAMS else getattr(net, n)), dtype=torch.float64,
                            requires_grad=True) for n in (*INPUTS, *PARAMS)}
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu}[net.hidden]
    t = dict(leaf)
    t["z1"] = leaf["w11"] * leaf["x1"] + leaf["w12"] * leaf["x2"] + leaf["b1"]
    t["z2"] = leaf["w21"] * leaf["x1"] + leaf["w22"] * leaf["x2"] + leaf["b2"]
    t["h1"], t["h2"] = act(t["z1"]), act(t["z2"])
    t["o"] = leaf["v1"] * t["h1"] + leaf["v2"] * t["h2"] + leaf["c"]
    t["yhat"] = torch.sigmoid(t["o"])
    t["L"] = F.binary_cross_entropy(t["yhat"], torch.tensor(float(net.y), dtype=torch.float64))
    for n in OPS:
        t[n].retain_grad()
    t["L"].backward()
    values = {n: float(x.detach()) for n, x in t.items()} | {"y": float(net.y)}
    return values, {n: float(x.grad) for n, x in t.items()}


def finite_differences(net: Net, h: float = 1e-5) -> dict[str, float]:
    """∂L/∂p ≈ (L(p + h) − L(p − h)) / 2h for each parameter: no chain rule, just two forward passes."""
    out = {}
    for name in PARAMS:
        up = forward(net, {**net.params, name: net.params[name] + h})["L"]
        down = forward(net, {**net.params, name: net.params[name] - h})["L"]
        out[name] = (up - down) / (2 * h)
    return out
