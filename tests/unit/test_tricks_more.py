"""Issue 12's second batch of Training-tricks comparisons: layer norm (a model option the race can batch), a share of
the training set per contender, and the rotation pitfall. The effects the page's texts claim happen on the built-in
data with the comparisons' own settings (seed 0; the module docstrings give seeds 0-2)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from labcore.config import OptimConfig, RunConfig, TrainConfig
from labcore.data import load_dataset, stratified_subset
from labcore.i18n import t
from labcore.links import languages
from labcore.models import build_model, default_config
from labcore.train.race import Contender, Race, RaceConfig
from labcore.tricks import compare as cm
from labcore.tricks import figures
from labcore.tricks import rotation as rot
from tests.unit.test_race import assert_like_solo

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _race(c: cm.Comparison, epochs: int | None = None):
    if epochs is not None:
        c = replace(c, race=replace(c.race, train=replace(c.race.train, epochs=epochs)))
    race = Race(c.race, load_dataset(c.race.data))
    race.fit()
    return c, race


# -- layer norm in the model registry -------------------------------------------------------------------------
def test_layer_norm_builds_layernorm_in_an_mlp_and_one_group_norm_in_a_cnn(digits):
    mlp = build_model(replace(default_config("mlp"), layer_norm=True), digits)
    assert sum(isinstance(m, nn.LayerNorm) for m in mlp.modules()) == 2
    assert not any(isinstance(m, nn.BatchNorm1d) for m in mlp.modules())
    cnn = build_model(replace(default_config("cnn"), layer_norm=True), digits)  # batch_norm stays on: layer norm wins
    groups = [m for m in cnn.modules() if isinstance(m, nn.GroupNorm)]
    assert [g.num_groups for g in groups] == [1, 1] and [g.num_channels for g in groups] == [32, 64]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in cnn.modules())
    assert all(c.bias is not None for c in cnn.modules() if isinstance(c, nn.Conv2d))
    # one example alone: its output does not depend on the rest of the batch (batch norm's would, in training)
    cnn.train()
    x = digits.x_train[:8]
    torch.testing.assert_close(cnn(x)[:1], cnn(x[:1]))


def test_older_configs_without_layer_norm_stay_as_they_were(digits):
    cfg = RunConfig.from_dict({"model": {"name": "cnn", "batch_norm": True}})
    assert cfg.model.layer_norm is False and cfg.model == default_config("cnn")
    net = build_model(cfg.model, digits)
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert RunConfig.from_dict(RunConfig().with_(model={"layer_norm": True}).to_dict()).model.layer_norm


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_a_layer_norm_contender_trains_as_it_would_alone(digits, name):
    plain = replace(default_config(name), batch_norm=False, width=16)
    ln = replace(plain, layer_norm=True)
    adam = OptimConfig(name="adam", lr=0.003)
    cfg = RaceConfig(model=plain, train=TrainConfig(epochs=1, batch_size=64, num_threads=1),
                     contenders=(Contender(adam, model=ln), Contender(OptimConfig(name="sgd", lr=0.1), model=ln),
                                 Contender(adam)))
    race = Race(cfg, digits)
    race.fit()
    assert_like_solo(race, cfg, digits)


# -- a share of the training set --------------------------------------------------------------------------------
def test_a_stratified_subset_keeps_the_class_shares_and_its_seed(digits):
    y = digits.y_train.numpy()
    keep = stratified_subset(y, 0.1, seed=0)
    assert len(keep) == round(0.1 * len(y)) and len(set(keep)) == len(keep) and np.all(np.diff(keep) > 0)
    full, part = np.bincount(y) / len(y), np.bincount(y[keep], minlength=10) / len(keep)
    assert np.abs(full - part).max() < 0.02
    assert np.array_equal(keep, stratified_subset(y, 0.1, seed=0))
    assert not np.array_equal(keep, stratified_subset(y, 0.1, seed=1))
    assert np.array_equal(stratified_subset(y, 1.0), np.arange(len(y)))
    assert len(np.unique(y[stratified_subset(y, 0.001)])) == 10  # never fewer than one example per class


def test_a_contender_on_a_share_trains_on_that_share_and_validates_on_everything(digits):
    adam = OptimConfig(name="adam")
    cfg = RaceConfig(model=default_config("mlp"), train=TrainConfig(epochs=1),
                     contenders=(Contender(adam, train_fraction=0.2), Contender(adam)))
    small, full = sorted(Race(cfg, digits).heats, key=lambda h: h.n)
    assert small.n == len(stratified_subset(digits.y_train.numpy(), 0.2)) and full.n == len(digits.y_train)
    assert torch.equal(small.x_val, digits.x_val) and small.lanes[0].index == 0


# -- the comparisons ----------------------------------------------------------------------------------------
def test_layer_norm_does_not_mind_batches_of_two_where_batch_norm_does():
    c, race = _race(cm.comparison("norms"))
    assert [c.race.batch_size(i) for i in range(6)] == [2, 2, 2, 64, 64, 64]
    val = {(c.race.batch_size(s.index), cm.NORMS[s.index % 3]): s.epochs[-1]["val_acc"] for s in race.standings()}
    assert val[2, "layer"] > val[2, "batch"] + 0.2  # batch norm's statistics from 2 examples are noise
    assert abs(val[64, "layer"] - val[2, "layer"]) < cm.STEADY  # layer norm hardly notices the batch size
    assert val[64, "batch"] > 0.9
    text = cm.verdict(c, race.standings())
    assert "the batch size hardly matters to it" in text
    assert f"batch norm lost {100 * (val[64, 'batch'] - val[2, 'batch']):.1f} validation points" in text


def test_the_gap_between_training_and_validation_shrinks_with_more_data():
    c = cm.comparison("data_size", 0.05)
    assert [s.train_fraction for s in c.race.contenders] == [0.05, 0.22, 1.0]
    c, race = _race(c)
    rows = cm.size_rows(c, race.standings())
    assert [r["n"] for r in rows] == [h.n for h in sorted(race.heats, key=lambda h: h.n)]
    gaps = [r["gap"] for r in rows]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[0] > gaps[2] + 0.05
    assert rows[2]["val"] == max(r["val"] for r in rows)
    assert f"the gap shrank from {100 * gaps[0]:.1f} to {100 * gaps[2]:.1f} points" in cm.verdict(c, race.standings())
    n = len(stratified_subset(load_dataset("digits").y_train.numpy(), 0.02))
    assert cm.labels(cm.comparison("data_size", 0.02))[0] == f"2 % of the training set ({n} examples)"


@pytest.fixture(scope="module")
def rotation_race():
    torch.set_num_threads(1)
    return _race(cm.comparison("rotation"), epochs=6)  # the effect shows by then (the page runs 10)


def test_the_full_turn_model_can_no_longer_tell_six_from_nine(rotation_race, digits):
    c, race = rotation_race
    models = [race.contender_model(i) for i in range(2)]
    six = rot.probe(models, digits, 6)
    assert six.count == int((digits.y_test == 6).sum()) and six.p6.shape == (2, len(rot.ANGLES))
    full, small = 0, 1
    assert six.mixups(full) > six.mixups(small)  # on the upright test set
    assert six.p6[small, rot.at(six, 0)] > 0.8 and six.p9[small, rot.at(six, 180)] > 0.5  # turned over, a 6 is a 9
    assert rot.swing(six, small) > rot.swing(six, full) + 0.3  # the full-turn model hardly cares about the angle
    text = rot.verdict(six, [180, 15], "en")
    assert f"the ±180° model took {six.mixups(full)} of the {six.sixes + six.nines} sixes and nines" in text
    assert "can no longer use the one thing that tells a 6 from a 9" in text
    nine = rot.probe(models, digits, 9)
    assert nine.mixups(full) == six.mixups(full) and nine.p9[small, 0] > 0.8
    fig = figures.rotation_figure(six, cm.labels(c), lang="he")
    assert len(fig.data) == 4 and list(fig.data[0].x) == list(rot.ANGLES)


def test_rotate_turns_a_digit_by_a_half_turn_exactly(digits):
    x = digits.x_test[:3]
    torch.testing.assert_close(rot.rotate(x, 180), x.flip(-1).flip(-2))
    torch.testing.assert_close(rot.rotate(x, 360), x)


def test_the_new_comparisons_have_their_texts_in_every_language():
    for name in ("norms", "data_size", "rotation"):
        c = cm.comparison(name)
        c.race.validate()
        for lang in languages():
            assert t(f"tricks.cmp.name_{name}", lang) and t(f"tricks.cmp.about_{name}", lang)
            assert len(set(cm.labels(c, lang))) == len(c.race.contenders)
