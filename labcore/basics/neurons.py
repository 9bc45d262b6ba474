"""Lesson 2: the perceptron y = φ(w·x + b), activations with their derivatives, and depth without a nonlinearity.

Derivatives come from torch.autograd (the same machinery that trains every network in the lab), never from a
second hand-written formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

BOX = (-3.0, 3.0)  # the perceptron's input plane, both axes
ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "leaky_relu", "softmax")
LEAKY_SLOPE = 0.1  # larger than PyTorch's 0.01, so the slope on the left is visible
X_RANGE = (-6.0, 6.0)  # the activation explorer's x axis
VANISH = 0.01  # "the gradient vanishes": |φ'(x)| below this
SOFTMAX_REST = (1.0, 0.0, -1.0)  # the softmax explorer's vector is (x, 1, 0, -1): the slider moves the first logit


# -- the perceptron ---------------------------------------------------------------------------------------------
def perceptron_output(w1: float, w2: float, b: float, phi: str = "sigmoid", n: int = 81) -> tuple[np.ndarray, np.ndarray]:
    """The grid's coordinates (n,) and φ(w1·x1 + w2·x2 + b) on it, (n, n) with row = x2, column = x1.
    `phi`: "sigmoid" (a smooth output in (0, 1)) or "step" (the classic perceptron's 0/1)."""
    g = torch.linspace(BOX[0], BOX[1], n, dtype=torch.float64)
    x2, x1 = torch.meshgrid(g, g, indexing="ij")
    z = w1 * x1 + w2 * x2 + b
    out = torch.sigmoid(z) if phi == "sigmoid" else (z >= 0).to(torch.float64)
    return g.numpy(), out.numpy()


def decision_line(w1: float, w2: float, b: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Two points of the line w1·x1 + w2·x2 + b = 0 spanning the box, or None when w = 0 (no line: the output
    is the same everywhere)."""
    lo, hi = BOX
    if abs(w2) >= abs(w1):
        if w2 == 0:
            return None
        xs = np.array([lo, hi])
        return xs, -(w1 * xs + b) / w2
    ys = np.array([lo, hi])
    return -(w2 * ys + b) / w1, ys


# -- activations --------------------------------------------------------------------------------------------------
def _apply(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == "relu":
        return F.relu(x)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "gelu":
        return F.gelu(x)
    if name == "leaky_relu":
        return F.leaky_relu(x, LEAKY_SLOPE)
    raise ValueError(f"unknown activation {name!r}")


@dataclass(frozen=True)
class Curve:
    """An element-wise activation φ on `x`, its derivative φ'(x) from autograd, and where |φ'| < VANISH."""

    name: str
    x: np.ndarray
    y: np.ndarray
    dy: np.ndarray

    @property
    def vanishing(self) -> np.ndarray:
        return np.abs(self.dy) < VANISH


def activation_curve(name: str, x: np.ndarray | None = None) -> Curve:
    """φ(x) and dφ/dx by torch.autograd: y.sum().backward() gives each point's own derivative (φ acts element-wise)."""
    xs = np.linspace(*X_RANGE, 481) if x is None else np.asarray(x, dtype=np.float64)
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = _apply(name, t)
    y.sum().backward()
    return Curve(name, xs, y.detach().numpy(), t.grad.numpy())


def vanishing_edges(curve: Curve) -> float | None:
    """The smallest |x| at which the derivative has vanished (|φ'| < VANISH), or None if it never does."""
    hits = np.abs(curve.x[curve.vanishing])
    return float(hits.min()) if hits.size else None


@dataclass(frozen=True)
class SoftmaxView:
    """softmax(x, 1, 0, -1) as the first logit x moves: p[i](x) on `x`, and ∂p[i]/∂x by autograd."""

    x: np.ndarray
    p: np.ndarray  # (len(x), 4)
    dp: np.ndarray  # (len(x), 4)


def softmax_view(x: np.ndarray | None = None) -> SoftmaxView:
    xs = np.linspace(*X_RANGE, 241) if x is None else np.asarray(x, dtype=np.float64)
    first = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    rest = torch.tensor(SOFTMAX_REST, dtype=torch.float64).expand(len(xs), -1)
    p = torch.softmax(torch.cat([first[:, None], rest], 1), dim=1)
    grads = [torch.autograd.grad(p[:, i].sum(), first, retain_graph=True)[0] for i in range(p.shape[1])]
    return SoftmaxView(xs, p.detach().numpy(), torch.stack(grads, 1).numpy())


def softmax_jacobian(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """softmax(z) and its Jacobian ∂p_i/∂z_j (torch.autograd.functional.jacobian)."""
    z = torch.tensor(np.asarray(logits, dtype=np.float64))
    return torch.softmax(z, 0).numpy(), torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), z).numpy()


# -- depth without a nonlinearity ---------------------------------------------------------------------------------
WIDTH = 8
XOR_POINTS, XOR_NOISE = 200, 0.1
STEPS, LR = 300, 0.05
GRID = 61


def xor_points(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The book's XOR (Eq. 2.5) as four noisy clusters around (±1, ±1): class 1 where x1·x2 < 0 (x1 ≠ x2)."""
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(XOR_POINTS, 2)) * 2 - 1
    x = corners + rng.normal(0, XOR_NOISE * 3, size=corners.shape)
    return x.astype(np.float32), (corners[:, 0] != corners[:, 1]).astype(np.int64)


def stack(layers: int, relu: bool, seed: int = 0) -> torch.nn.Sequential:
    """2 -> WIDTH -> ... -> 1: `layers` linear layers, with ReLU between them or with nothing at all."""
    torch.manual_seed(seed)
    sizes = [2] + [WIDTH] * (layers - 1) + [1]
    parts: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        if i and relu:
            parts.append(torch.nn.ReLU())
        parts.append(torch.nn.Linear(a, b))
    return torch.nn.Sequential(*parts)


def collapse(net: torch.nn.Sequential) -> tuple[np.ndarray, np.ndarray]:
    """The one matrix W = W_N ··· W_1 and bias c with x ↦ Wx + c equal to the stack (if it has no nonlinearity):
    each layer's affine map composed after the previous ones."""
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        w = torch.eye(linears[0].in_features, dtype=torch.float64)
        c = torch.zeros(linears[0].in_features, dtype=torch.float64)
        for m in linears:
            a, b = m.weight.double(), m.bias.double()
            w, c = a @ w, a @ c + b
    return w.numpy(), c.numpy()


@dataclass(frozen=True)
class DepthResult:
    layers: int
    relu: bool
    grid: np.ndarray  # (GRID,) both axes
    probs: np.ndarray  # (GRID, GRID) P(class 1) of the trained stack
    accuracy: float  # on the training points
    matrix: np.ndarray  # (1, 2) the product W_N ··· W_1
    bias: np.ndarray  # (1,)
    max_difference: float  # max |stack(x) − (Wx + c)| over the grid and the points
    loss: float


def depth_demo(layers: int, relu: bool, seed: int = 0) -> DepthResult:
    """Train the stack on XOR (full batch, Adam, STEPS steps, seeded; well under a second), then compare it with
    its one-matrix collapse. Without ReLU the two agree to rounding and the boundary is a straight line."""
    x_np, y_np = xor_points(seed)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np).float()
    net = stack(layers, relu, seed)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(net(x)[:, 0], y)
        loss.backward()
        opt.step()
    g = np.linspace(-2.0, 2.0, GRID, dtype=np.float32)
    gy, gx = np.meshgrid(g, g, indexing="ij")
    grid_points = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))
    w, c = collapse(net)
    with torch.no_grad():
        logits = net(grid_points)[:, 0]
        probs = torch.sigmoid(logits).numpy().reshape(GRID, GRID)
        acc = float(((net(x)[:, 0] > 0).float() == y).float().mean())
        everything = torch.cat([grid_points, x]).double()
        one_matrix = everything @ torch.from_numpy(w).T + torch.from_numpy(c)
        diff = float((net.double()(everything) - one_matrix).abs().max())
        final = float(F.binary_cross_entropy_with_logits(net(x.double())[:, 0], y.double()))
    return DepthResult(layers, relu, g, probs, acc, w, c, diff, final)


# -- one slider move, for `python -m labcore bench neurons` -------------------------------------------------------
TARGET_SECONDS = 0.1  # one redraw after a slider move on a 2-core laptop


def bench(repeats: int = 20) -> dict:
    """Best-of-`repeats` seconds of what one slider move redraws on the Neurons page (the perceptron's output and
    line, an activation with its autograd derivative, both figures serialised as st.plotly_chart sends them)
    against one plain torch.sigmoid over the perceptron's grid, measured in the same run."""
    import time

    import plotly.io

    from labcore.basics import figures

    redraw_s, base_s = [], []
    grid = torch.rand(81, 81)
    for i in range(repeats):
        w1 = -3 + 6 * (i % 10) / 9
        t0 = time.perf_counter()
        xs, out = perceptron_output(w1, 2.0, -1.0)
        plotly.io.to_json(figures.perceptron_figure(xs, out, w1, 2.0, -1.0, decision_line(w1, 2.0, -1.0)), validate=False)
        curve = activation_curve(ACTIVATIONS[i % (len(ACTIVATIONS) - 1)])  # softmax has a panel of its own
        plotly.io.to_json(figures.activation_figure(curve, 0.5), validate=False)
        redraw_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        torch.sigmoid(grid)
        base_s.append(time.perf_counter() - t0)
    best, base = min(redraw_s), min(base_s)
    return {"redraw_s": round(best, 4), "sigmoid_s": round(base, 7), "ratio": round(best / base, 1),
            "target_s": TARGET_SECONDS, "within_target": best <= TARGET_SECONDS}
