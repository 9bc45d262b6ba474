"""The init x activation x depth explorer (labcore.tricks.init_explorer): the textbook behaviours, measured on a
real PyTorch MLP with a fixed seed (the bounds hold for every width the page offers), its figures, and its link."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labcore import links
from labcore.tricks import figures
from labcore.tricks import init_explorer as ie

DEPTH = 20


@pytest.mark.parametrize("width", ie.WIDTHS)
def test_xavier_tanh_holds_the_gradient_while_a_too_small_init_loses_it(width):
    xavier = ie.explore("xavier", "tanh", DEPTH, width)
    assert xavier.grad_std.max() / xavier.grad_std.min() < 10  # measured 5.0 to 5.4
    for act in ("tanh", "sigmoid"):
        small = ie.explore("small", act, DEPTH, width)
        assert small.grad_ratio() < 1e-3  # layer 1 gets under a thousandth of layer 20's gradient (measured < 1e-15)
        assert np.all(small.grad_std > 0)  # float64: tiny, not underflowed to zero


@pytest.mark.parametrize("width", ie.WIDTHS)
def test_he_keeps_relu_activations_while_xavier_halves_them_layer_after_layer(width):
    he = ie.explore("he", "relu", DEPTH, width)
    assert he.act_std.max() / he.act_std.min() < 4  # measured 1.2 to 2.7
    assert he.grad_std.max() / he.grad_std.min() < 2  # measured 1.1 to 1.6
    xavier = ie.explore("xavier", "relu", DEPTH, width)
    assert xavier.act_ratio() < 1e-2  # (1/√2)^19 ≈ 1/724; measured 5e-4 to 2e-3
    assert xavier.grad_ratio() < 1 / 500  # measured 1/1150 to 1/730


@pytest.mark.parametrize("act", ie.ACTIVATIONS)
def test_too_large_weights_explode_relu_and_tanh_gradients(act):
    r = ie.explore("large", act, DEPTH, 128)
    if act == "relu":
        assert r.act_ratio() > 1e10 and r.grad_ratio() > 1e10
    elif act == "tanh":
        assert r.grad_ratio() > 1e5  # saturated at ±1 (std ≈ 0.96), yet the wide weights blow the gradient up
        assert np.all(r.act_std > 0.9)


@pytest.mark.parametrize("act", ie.ACTIVATIONS)
def test_zeros_give_hidden_weights_no_gradient(act):
    r = ie.explore("zeros", act, 5, 64)
    assert np.all(r.weight_grad_std == 0) and np.all(r.grad_std == 0)
    assert r.grad_ratio() is None
    figures.std_figure(r)  # a panel of zeros draws (with a note), no log of zero


def test_the_real_torch_inits_draw_the_stated_std():
    for init in ie.INITS:
        layers = ie.build(init, "tanh", 3, 256)
        w = torch.cat([layer.weight.detach().flatten() for layer in layers[:-1]])
        assert float(w.std()) == pytest.approx(ie.weight_std(init, 256), rel=0.02, abs=1e-12), init
        assert all(float(layer.bias.detach().abs().max()) == 0 for layer in layers)
    assert ie.weight_std("he", 128) == pytest.approx(math.sqrt(2 / 128))


def test_results_are_repeatable_and_shaped_per_layer():
    a, b = ie.explore("he", "relu", 7, 64), ie.explore("he", "relu", 7, 64)
    assert np.array_equal(a.grad_std, b.grad_std) and a.loss == b.loss
    assert a.act_std.shape == a.grad_std.shape == (7,)
    assert list(a.hists) == [1, 4, 7]
    assert all(share.sum() == pytest.approx(1) and len(edges) == ie.BINS + 1 for share, edges in a.hists.values())
    assert len(figures.std_figure(a).data) == 2 and len(figures.histogram_figure(a).data) == 3


def test_explore_refuses_what_the_page_cannot_offer():
    with pytest.raises(ValueError):
        ie.explore("he", "relu", 1)
    with pytest.raises(KeyError):
        ie.explore("orthogonal", "relu", 5)


def test_the_link_refuses_depths_the_page_cannot_draw():
    values, ignored = links.read("tricks", {"init.depth": "0"})
    assert values["init.depth"] == 2 and ignored == []  # clamped to the slider's lowest
    assert links.read("tricks", {"init.depth": "1"})[0]["init.depth"] == 2
    assert links.read("tricks", {"init.depth": "999"})[0]["init.depth"] == 50
    for junk in ("nan", "inf", "-1", "abc"):
        values, ignored = links.read("tricks", {"init.depth": junk})
        assert values["init.depth"] == 20 and ignored == ["init.depth"], junk
    values, ignored = links.read("tricks", {"init.scheme": "orthogonal", "init.act": "gelu", "panel": "bn"})
    assert (values["init.scheme"], values["init.act"], values["panel"]) == ("xavier", "tanh", "init")
    assert ignored == ["panel", "init.scheme", "init.act"]
    assert links.write("tricks", values) == {}


def test_train_it_learns_from_a_good_start_and_not_from_zeros():
    good = ie.train_digits("xavier", "tanh", 3, 64, epochs=2)
    per = good.steps_per_epoch
    assert good.diverged_at is None and good.losses[-per:].mean() < 0.7 * good.losses[:per].mean()
    assert good.test_accuracy > 0.5
    zeros = ie.train_digits("zeros", "relu", 3, 64, epochs=1)
    assert abs(zeros.losses[-per:].mean() - math.log(10)) < 0.05  # all-zero hidden layers: only the output bias learns
    assert len(figures.train_figure(good).data) == 2


def test_train_it_stops_at_an_overflowing_loss():
    r = ie.train_digits("large", "relu", 20, 128, epochs=1)
    assert r.diverged_at is not None and r.test_accuracy is None
    assert np.isnan(r.losses[r.diverged_at:]).all()
    figures.train_figure(r)
