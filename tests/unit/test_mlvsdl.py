"""Lesson 1 (labcore.basics.mlvsdl): hand-made image features, the pixel-shuffle test and one step of the training
loop. Training here is tiny: digits (1,797 8x8 images) in about a second, one CNN pair on shapes in a few seconds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from labcore.basics import mlvsdl
from labcore.data.shapes import make_shapes
from labcore.viz.mlvsdl import features_figure, loop_figure, shuffled_figure


# -- features -----------------------------------------------------------------------------------------------------
def test_features_have_one_fixed_width_and_are_deterministic():
    train, _, _ = mlvsdl.split("digits", 0)
    x = train[0][:50]
    f = mlvsdl.hand_features(x)
    slices = mlvsdl.feature_slices()
    assert f.shape == (50, slices["compactness"].stop) == (50, 8 + 8 + 4 * 4 * 8 + 2 + 1 + 1)
    assert np.array_equal(f, mlvsdl.hand_features(x))
    assert np.isfinite(f).all()
    shapes, _, _ = make_shapes(8, 32, seed=3)
    assert mlvsdl.hand_features(shapes).shape == (8, f.shape[1])  # 32x32 RGB gives the same numbers per image
    rows, cols = f[:, slices["rows"]], f[:, slices["cols"]]
    assert rows.sum(1) == pytest.approx(np.ones(50), abs=1e-5) and cols.sum(1) == pytest.approx(np.ones(50), abs=1e-5)


def test_features_measure_what_they_say():
    disc = np.zeros((1, 1, 32, 32), np.float32)
    yy, xx = np.mgrid[0:32, 0:32] + 0.5
    disc[0, 0] = (xx - 16) ** 2 + (yy - 16) ** 2 <= 10**2
    ring = disc.copy()
    ring[0, 0][(xx - 16) ** 2 + (yy - 16) ** 2 <= 5**2] = 0
    cross = np.zeros_like(disc)
    cross[0, 0][(np.abs(xx - 16) <= 3) & (np.abs(yy - 16) <= 10)] = 1
    cross[0, 0][(np.abs(yy - 16) <= 3) & (np.abs(xx - 16) <= 10)] = 1
    a = mlvsdl.ink(np.concatenate([disc, ring, cross]))
    m = mlvsdl.masks(a)
    assert mlvsdl.holes(m).tolist() == [0, 1, 0]
    compact = mlvsdl.compactness(m)
    assert compact[0] == pytest.approx(1.0, abs=0.2) and compact[2] > 1.8  # a disc is the most compact outline
    assert mlvsdl.symmetry(a)[0] == pytest.approx([1.0, 1.0], abs=0.02)
    inverted = mlvsdl.ink(1 - disc)  # dark disc on light ground: the same ink
    assert np.allclose(inverted, a[0:1])


# -- shuffled pixels ------------------------------------------------------------------------------------------------
def test_the_permutation_is_a_fixed_bijection_that_can_be_undone():
    perm = mlvsdl.permutation(8, 8)
    assert sorted(perm.tolist()) == list(range(64)) and not np.array_equal(perm, np.arange(64))
    assert np.array_equal(perm, mlvsdl.permutation(8, 8))
    x = np.random.default_rng(0).random((5, 3, 8, 8))
    mixed = mlvsdl.shuffle_pixels(x, perm)
    assert np.array_equal(np.sort(mixed.reshape(5, 3, -1), axis=2), np.sort(x.reshape(5, 3, -1), axis=2))
    assert np.array_equal(mlvsdl.unshuffle_pixels(mixed, perm), x)
    # every channel moves together: a pixel's colour stays the same colour
    j = 10
    assert np.array_equal(mixed[:, :, j // 8, j % 8], x[:, :, perm[j] // 8, perm[j] % 8])


def test_shuffling_leaves_logistic_regression_and_the_mlp_where_they_were():
    r = {(x.model, x.inputs): x.accuracy for x in mlvsdl.shuffle_compare("digits", 0)}
    assert r[("logreg", "pixels")] == pytest.approx(r[("logreg", "shuffled")], abs=0.005)  # measured: equal, seeds 0-2
    assert r[("mlp", "pixels")] == pytest.approx(r[("mlp", "shuffled")], abs=0.02)  # measured: ≤ 0.4 points apart
    assert r[("mlp", "pixels")] > 0.9


def test_shuffling_costs_the_cnn_a_lot_on_shapes():
    train, test, k = mlvsdl.split("shapes", 0)
    perm = mlvsdl.permutation(32, 32)
    plain = mlvsdl.fit_net("cnn", "pixels", train, test, k, epochs=mlvsdl.EPOCHS["shapes"])
    mixed = mlvsdl.fit_net("cnn", "shuffled", (mlvsdl.shuffle_pixels(train[0], perm), train[1]),
                           (mlvsdl.shuffle_pixels(test[0], perm), test[1]), k, epochs=mlvsdl.EPOCHS["shapes"])
    assert plain.accuracy > 0.8 and mixed.accuracy < plain.accuracy - 0.3  # measured: 0.89 -> 0.33 (seed 0)


def test_hand_made_features_beat_raw_pixels_for_classic_models_on_shapes():
    train, test, _ = mlvsdl.split("shapes", 0)
    feats = mlvsdl.hand_features(train[0]), mlvsdl.hand_features(test[0])
    on_features = mlvsdl.fit_classic("logreg", "features", (feats[0], train[1]), (feats[1], test[1]))
    flat = train[0].reshape(len(train[0]), -1), test[0].reshape(len(test[0]), -1)
    on_pixels = mlvsdl.fit_classic("logreg", "pixels", (flat[0], train[1]), (flat[1], test[1]))
    assert on_features.accuracy > 0.95 and on_pixels.accuracy < 0.4  # measured: 0.99 against 0.28 (chance: 0.25)
    assert on_features.n_inputs == feats[0].shape[1] and on_pixels.n_inputs == 3 * 32 * 32


# -- the training loop -----------------------------------------------------------------------------------------------
def test_one_step_is_w_minus_lr_grad_and_the_loss_after_is_recomputed():
    torch.manual_seed(0)
    model = mlvsdl.loop_model(3)
    xb, yb = torch.randn(32, 1, 8, 8), torch.randint(0, 10, (32,))
    before = [p.detach().clone() for p in model.parameters()]
    ref = mlvsdl.loop_model(3)
    loss = nn.functional.cross_entropy(ref(xb), yb)
    grads = torch.autograd.grad(loss, list(ref.parameters()))
    lr = 0.5
    s = mlvsdl.sgd_step(model, xb, yb, lr)
    assert s.loss_before == pytest.approx(loss.item(), rel=1e-6)
    norm = torch.sqrt(sum((g**2).sum() for g in grads)).item()
    assert s.grad_norm == pytest.approx(norm, rel=1e-5) and s.update_norm == pytest.approx(lr * norm, rel=1e-5)
    for p, p0, g in zip(model.parameters(), before, grads, strict=True):
        assert torch.allclose(p, p0 - lr * g, atol=1e-6)
    with torch.no_grad():
        assert s.loss_after == pytest.approx(nn.functional.cross_entropy(model(xb), yb).item(), rel=1e-6)


def test_the_loop_goes_downhill_with_a_small_step_and_overshoots_with_a_large_one():
    small = mlvsdl.training_loop(20, 0.2)
    assert len(small) == 21 and all(s.loss_after < s.loss_before for s in small)
    assert small[-1].loss_before < small[0].loss_before - 0.5
    big = mlvsdl.training_loop(20, 2.0)
    assert big[3].loss_after > big[3].loss_before  # the lr-too-large preset shows this step
    assert [s.loss_before for s in mlvsdl.training_loop(5, 0.5)] == [s.loss_before for s in mlvsdl.training_loop(5, 0.5)]


def test_figures_draw():
    train, _, _ = mlvsdl.split("digits", 0)
    assert len(features_figure(train[0][0], lang="he").data) == 5
    shapes, _, _ = make_shapes(3, 32, seed=1)
    features_figure(shapes[0])
    shuffled_figure(shapes, mlvsdl.permutation(32, 32), lang="fa")
    s = mlvsdl.training_loop(0, 0.5)[0]
    fig = loop_figure(s, 4, 0.5)
    text = " ".join(a.text for a in fig.layout.annotations)
    assert f"{s.loss_after:.4f}" in text and f"{s.grad_norm:.4f}" in text
    hidden = " ".join(a.text for a in loop_figure(s, 0, 0.5).layout.annotations)
    assert f"{s.loss_before:.4f}" not in hidden  # the loss is shown only once the loop has reached it
