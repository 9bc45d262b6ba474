"""labcore.basics (the Neurons page, lessons 2 and 3): the hand-made backpropagation equals torch.autograd and
finite differences, stacked linear layers equal their product matrix, derivatives come from autograd and match
the textbook formulas, losses equal their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labcore import links
from labcore.basics import backprop, figures, losses, neurons
from labcore.basics.backprop import HIDDEN, OPS, PARAMS, Net, random_params

NETS = [Net(), Net(x1=-1.5, x2=2.0, y=0, hidden="tanh", params=random_params(7)),
        Net(x1=0.3, x2=-1.2, y=1, hidden="relu", params=random_params(3)),
        Net(x1=2.0, x2=2.0, y=0, hidden="sigmoid", params=random_params(42))]


@pytest.mark.parametrize("net", NETS, ids=lambda n: f"{n.hidden}-y{n.y}")
def test_backprop_numbers_equal_autograd(net):
    w = backprop.walk(net)
    values, grads = backprop.autograd(net)
    for node in (*OPS, *PARAMS, *backprop.INPUTS):
        assert w.values[node] == pytest.approx(values[node], rel=1e-12, abs=1e-12), node
        assert w.grads[node] == pytest.approx(grads[node], rel=1e-10, abs=1e-12), node
    assert any(abs(w.grads[p]) > 1e-3 for p in PARAMS)  # not a trivially zero case


@pytest.mark.parametrize("net", NETS, ids=lambda n: f"{n.hidden}-y{n.y}")
def test_finite_differences_agree_with_backprop(net):
    w, fd = backprop.walk(net), backprop.finite_differences(net)
    for p in PARAMS:
        assert fd[p] == pytest.approx(w.grads[p], abs=1e-7), p


def test_a_wrong_chain_rule_would_be_caught():
    """The comparison has teeth: a gradient off by a little fails it."""
    net = NETS[0]
    w, fd = backprop.walk(net), backprop.finite_differences(net)
    assert fd["w11"] != pytest.approx(w.grads["w11"] * 1.01, abs=1e-7)


def test_the_walk_steps_one_operation_at_a_time():
    w = backprop.walk(NETS[0])
    assert len(w.steps) - 1 == links.NEURON_RANGES["step"][1]  # the step slider reaches the last step
    kinds = [s.kind for s in w.steps]
    assert kinds == ["start"] + ["forward"] * len(OPS) + ["backward"] * 8
    forward = [n for s in w.steps if s.kind == "forward" for n in s.nodes]
    assert forward == list(OPS)  # every operation, once, in order
    values, grads = w.known(0)
    assert set(values) == {*backprop.INPUTS, *PARAMS, "y"} and grads == {}
    values, grads = w.known(len(OPS))
    assert "L" in values and grads == {}
    values, grads = w.known(len(w.steps) - 1)
    assert grads == pytest.approx(w.grads)
    _, half = w.known(len(w.steps) - 2)  # after layer 1's first neuron: x's gradient holds one path of two
    assert half["x1"] != pytest.approx(w.grads["x1"])
    for k in range(len(w.steps)):
        figures.graph_figure(w, k)
    assert all(s.formulas for s in w.steps[1:])


def test_random_params_are_seeded_and_readable():
    assert random_params(5) == random_params(5) != random_params(6)
    assert all(-1 <= v <= 1 and round(v, 2) == v for v in random_params(5).values())


@pytest.mark.parametrize("name", [a for a in neurons.ACTIVATIONS if a != "softmax"])
def test_derivatives_by_autograd_match_the_textbook(name):
    x = np.linspace(-5, 5, 101)
    x = x[np.abs(x) > 1e-9]  # ReLU's kink at 0
    c = neurons.activation_curve(name, x)
    s = 1 / (1 + np.exp(-x))
    expected = {
        "relu": (np.maximum(x, 0), (x > 0).astype(float)),
        "sigmoid": (s, s * (1 - s)),
        "tanh": (np.tanh(x), 1 - np.tanh(x) ** 2),
        "leaky_relu": (np.where(x > 0, x, neurons.LEAKY_SLOPE * x), np.where(x > 0, 1.0, neurons.LEAKY_SLOPE)),
        "gelu": (x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
                 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    }[name]
    np.testing.assert_allclose(c.y, expected[0], atol=1e-10)
    np.testing.assert_allclose(c.dy, expected[1], atol=1e-10)


def test_the_sigmoid_gradient_vanishes_past_about_4_6():
    c = neurons.activation_curve("sigmoid")
    edge = neurons.vanishing_edges(c)
    assert 4.4 < edge < 4.7  # σ'(x) = 0.01 at |x| ≈ 4.6
    assert c.dy.max() == pytest.approx(0.25)
    assert neurons.vanishing_edges(neurons.activation_curve("leaky_relu")) is None


def test_softmax_view_and_jacobian_by_autograd():
    v = neurons.softmax_view(np.array([-2.0, 0.0, 3.0]))
    np.testing.assert_allclose(v.p.sum(1), 1.0)
    np.testing.assert_allclose(v.dp[:, 0], v.p[:, 0] * (1 - v.p[:, 0]))  # ∂p1/∂z1 = p1(1 − p1)
    np.testing.assert_allclose(v.dp[:, 1], -v.p[:, 0] * v.p[:, 1])
    p, jac = neurons.softmax_jacobian(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(jac, np.diag(p) - np.outer(p, p), atol=1e-12)


def test_perceptron_line_is_where_the_output_is_one_half():
    grid, out = neurons.perceptron_output(1.0, 2.0, -1.0)
    x, y = neurons.decision_line(1.0, 2.0, -1.0)
    np.testing.assert_allclose(1.0 * x + 2.0 * y - 1.0, 0.0, atol=1e-12)
    assert out.shape == (len(grid), len(grid))
    assert out[-1, -1] > 0.99 and out[0, 0] < 0.01  # (3, 3) is on the w side, (−3, −3) is not
    assert neurons.decision_line(0.0, 0.0, 1.0) is None
    _, step = neurons.perceptron_output(0.0, 1.0, 0.0, "step")
    assert set(np.unique(step)) == {0.0, 1.0}


@pytest.mark.parametrize("layers", [2, 4])
def test_stacked_linear_layers_are_one_matrix(layers):
    net = neurons.stack(layers, relu=False, seed=1)
    w, c = neurons.collapse(net)
    x = torch.randn(50, 2, dtype=torch.float64)
    product = torch.eye(2, dtype=torch.float64)
    for m in net:
        product = m.weight.double() @ product
    np.testing.assert_allclose(w, product.detach().numpy(), atol=1e-12)  # W = W_N ··· W_1
    np.testing.assert_allclose(net.double()(x).detach().numpy(), (x @ torch.from_numpy(w).T).numpy() + c, atol=1e-12)


def test_depth_collapses_without_relu_and_bends_with_it():
    flat, bent = neurons.depth_demo(3, relu=False), neurons.depth_demo(3, relu=True)
    assert flat.max_difference < 1e-9 and bent.max_difference > 1.0
    assert flat.accuracy < 0.75 <= 0.95 <= bent.accuracy  # a line cannot do XOR; ReLU can
    assert neurons.depth_demo(3, relu=False).probs == pytest.approx(flat.probs)  # seeded
    # The linear stack's boundary is a straight line: P > ½ exactly where W x + c > 0 on the whole grid.
    gx, gy = np.meshgrid(flat.grid, flat.grid)
    side = flat.matrix[0, 0] * gx + flat.matrix[0, 1] * gy + flat.bias[0] > 0
    near = np.abs(flat.probs - 0.5) < 1e-6
    assert np.array_equal((flat.probs > 0.5)[~near], side[~near])


def test_losses_equal_their_definitions():
    p = np.array([0.01, 0.3, 0.9])
    np.testing.assert_allclose(losses.bce(p, 1), -np.log(p))
    np.testing.assert_allclose(losses.bce(p, 0), -np.log(1 - p))
    np.testing.assert_allclose(losses.mse(p, 1), (p - 1) ** 2)
    assert losses.bce([0.01], 1)[0] > 4.5 > 1 > losses.mse([0.01], 1)[0]  # a confident mistake explodes
    ce = losses.cross_entropy([2.0, 1.0, -1.0], 2)
    assert ce.loss == pytest.approx(ce.neg_log_p) == pytest.approx(-np.log(np.exp(-1) / np.exp([2, 1, -1]).sum()))
    assert ce.probs.sum() == pytest.approx(1.0) and ce.predicted == 0


def test_figures_build():
    c = losses.loss_curves()
    figures.loss_figure(c, 0.2, 1, 1.6, 0.64, lang="he")
    figures.cross_entropy_figure(losses.cross_entropy([0, 0, 0], 1), lang="fa")
    figures.softmax_figure(neurons.softmax_view(), 1.0, lang="uk")
    fig = figures.activation_figure(neurons.activation_curve("sigmoid"), 5.0)
    assert len(fig.layout.shapes) == 2  # both tails shaded
    grid, out = neurons.perceptron_output(0, 0, 1)
    figures.perceptron_figure(grid, out, 0, 0, 1, None)


def test_link_schema_offers_every_hidden_and_activation():
    values, ignored = links.read("neurons", {"bp.hidden": "relu", "act.name": "gelu", "perceptron.w1": "99"})
    assert ignored == [] and values["bp.hidden"] == "relu" and values["perceptron.w1"] == 3.0
    assert set(HIDDEN) <= {"sigmoid", "tanh", "relu"}


# -- universal approximation ----------------------------------------------------------------------------------------
def test_more_hidden_neurons_fit_a_wiggle_more_closely_and_the_error_is_measured():
    from labcore.basics import approximation as approx

    errors = [approx.fit("wiggle", (w,)).mse for w in (1, 4, 32)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.02, errors
    f = approx.fit("sine", (8,), "relu", steps=300)
    assert f.params == 3 * 8 + 1 and len(f.losses) == 300
    assert f.mse == pytest.approx(float(np.mean((f.fit - np.sin(f.x)) ** 2)))
    assert f.losses[-1] < f.losses[0]


def test_the_deeper_net_never_has_more_weights():
    from labcore.basics import approximation as approx

    for w in approx.WIDTHS:
        deep = approx.same_budget_deep(w)
        if w < 3:  # 3·2 + 1 = 7 weights; three layers of one neuron already have 8
            assert deep is None
            continue
        assert len(deep) == 3 and approx.count(approx.mlp(deep)) <= approx.count(approx.mlp((w,)))
    assert approx.same_budget_deep(32) == (5, 5, 5)  # 3·32 + 1 = 97 weights; (5, 5, 5) has 76, (6, 6, 6) 115


@pytest.mark.parametrize("text", ["", "1 2", "0 1, 0 2", "nan 1, 1 2", "a b, 1 2", "0 1 2, 1 2", "9 1, 1 2",
                                  "0 1e9, 1 2", ", ".join(f"{i / 10} 0" for i in range(21))])
def test_typed_points_that_cannot_be_fitted_are_refused(text):
    from labcore.basics import approximation as approx
    from labcore.i18n import LabError

    with pytest.raises(LabError):
        approx.parse_points(text)


def test_typed_points_are_joined_by_straight_lines():
    from labcore.basics import approximation as approx

    pts = approx.parse_points(" 2 1, -2 -1 ")
    assert pts.tolist() == [[-2.0, -1.0], [2.0, 1.0]]
    assert approx.target("points", np.array([-3.0, 0.0, 1.0]), pts).tolist() == [-1.0, 0.0, 0.5]


def test_bench_neurons_reports_a_ratio_against_a_plain_sigmoid():
    from labcore.bench import BENCHMARKS

    result = BENCHMARKS["neurons"](repeats=2)
    assert set(result) == {"redraw_s", "sigmoid_s", "ratio", "target_s", "within_target"}
    assert result["ratio"] == pytest.approx(result["redraw_s"] / result["sigmoid_s"], rel=0.05)
