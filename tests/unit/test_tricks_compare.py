"""The Training tricks page's comparisons (labcore.tricks.compare) and the race options they need: a contender
with its own network, on shuffled labels, with augmentation. The effects each comparison claims happen on the
built-in data with the preset's settings (fewer epochs where the effect shows earlier)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from labcore.config import AugmentConfig, OptimConfig, RunConfig, TrainConfig
from labcore.data import load_dataset
from labcore.i18n import t
from labcore.links import languages
from labcore.models import default_config
from labcore.train.race import Contender, Race, RaceConfig, Standing
from labcore.train.trainer import Trainer
from labcore.tricks import compare as cm
from labcore.viz.race import race_figure
from tests.unit.test_race import assert_like_solo, column

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _race(name: str, epochs: int | None = None) -> tuple[cm.Comparison, list[Standing]]:
    c = cm.comparison(name)
    if epochs is not None:
        c = replace(c, race=replace(c.race, train=replace(c.race.train, epochs=epochs)))
    race = Race(c.race, load_dataset(c.race.data))
    race.fit()
    return c, race.standings()


# -- the race options ---------------------------------------------------------------------------------------
def test_a_contender_with_its_own_network_trains_as_that_network_would_alone(digits):
    plain = default_config("mlp")
    bn = replace(plain, depth=3, batch_norm=True)
    adam = OptimConfig(name="adam")
    cfg = RaceConfig(model=plain, train=TrainConfig(epochs=1, num_threads=1),
                     contenders=(Contender(adam), Contender(OptimConfig(name="sgd", lr=0.1), model=bn),
                                 Contender(OptimConfig(name="momentum", lr=0.05), model=bn)))
    race = Race(cfg, digits)
    assert len(race.heats) == 2 and cfg.solo(1).model == bn and cfg.solo(0).model == plain
    race.fit()
    assert_like_solo(race, cfg, digits)


def test_random_labels_shuffle_the_training_labels_only(digits):
    adam = OptimConfig(name="adam")
    cfg = RaceConfig(model=default_config("mlp"), train=TrainConfig(epochs=1),
                     contenders=(Contender(adam), Contender(adam, random_labels=True)))
    true, shuffled = sorted(Race(cfg, digits).heats, key=lambda h: h.lanes[0].index)
    assert torch.equal(true.y, digits.y_train)
    assert torch.equal(shuffled.y.sort().values, digits.y_train.sort().values)  # the same class counts
    assert (shuffled.y != digits.y_train).float().mean() > 0.8  # but hardly a label left in place
    assert torch.equal(shuffled.y_val, digits.y_val) and torch.equal(shuffled.x, digits.x_train)


def test_an_augmented_contender_trains_as_a_solo_run_with_that_augmentation(digits):
    adam, noise = OptimConfig(name="adam"), AugmentConfig(noise_std=0.2)
    cfg = RaceConfig(model=default_config("mlp"), train=TrainConfig(epochs=1),
                     contenders=(Contender(adam), Contender(adam, augment=noise)))
    race = Race(cfg, digits)
    race.fit()
    plain, augmented = race.standings()
    solo = Trainer(replace(RunConfig(), **{**cfg.solo(1).__dict__, "augment": noise}), digits)
    solo.fit()
    torch.testing.assert_close(column(augmented.steps, "loss"), column(solo.log.snapshot()[0], "loss"), rtol=1e-4,
                               atol=1e-6)
    assert not torch.allclose(column(plain.steps, "loss"), column(augmented.steps, "loss"))


# -- the comparisons' effects -------------------------------------------------------------------------------
def test_batch_norm_trains_where_the_plain_net_diverges():
    c, (plain, bn) = _race("batchnorm", epochs=4)
    assert plain.status == "diverged" and plain.diverged_step < 4 * 20
    assert bn.status == "finished" and bn.epochs[-1]["val_acc"] > 0.8
    text = cm.verdict(c, [plain, bn])
    assert f"diverged at step {plain.diverged_step}" in text and f"{100 * bn.epochs[-1]['val_acc']:.1f} %" in text


def test_random_labels_are_memorised_while_validation_stays_at_chance():
    c, (true, shuffled) = _race("random_labels", epochs=32)
    assert shuffled.epochs[-1]["acc"] >= 0.95
    assert abs(shuffled.epochs[-1]["val_acc"] - 0.1) < 0.05  # ten digits: chance is 10 %
    assert true.epochs[-1]["val_acc"] > 0.9
    assert "memorised the training set" in cm.verdict(c, [true, shuffled])


def test_clipping_keeps_the_loss_finite_where_the_plain_run_explodes():
    c, (plain, clipped) = _race("clipping", epochs=4)
    assert plain.status == "diverged" and cm._peak(plain, "loss") > 100
    assert clipped.status == "finished" and cm._peak(clipped, "loss") < 5
    assert cm._peak(clipped, "grad_norm") > cm.CLIP  # the raw gradient is larger: clipping did cut steps
    assert clipped.epochs[-1]["val_acc"] > 0.5  # and it learns (chance: 10 %)
    assert cm.grad_norm_figure([plain, clipped], cm.labels(c), clip=cm.CLIP).data


def test_regularisation_narrows_the_gap_the_baseline_opens():
    c, standings = _race("regularisation", epochs=100)
    rows = cm.regularisation_rows(c, standings)
    assert len(rows) == 6 and rows[1]["name"].startswith("+ early stopping")
    base = rows[0]
    assert base["gap"] > 0.08  # the baseline overfits the noisy moons
    assert all(r["gap"] < base["gap"] for r in rows[1:])
    assert all(math.isclose(r["gap"], r["train"] - r["val"]) for r in rows)


def test_decay_settles_where_the_constant_rate_keeps_bouncing():
    c, (constant, decayed) = _race("lr_decay")
    last = [column(s.epochs[-10:], "val_acc") for s in (constant, decayed)]
    assert (last[1].max() - last[1].min()) < (last[0].max() - last[0].min())
    assert decayed.epochs[-1]["loss"] < constant.epochs[-1]["loss"]
    assert decayed.epochs[-1]["lr"] == pytest.approx(0.05 * 0.98**60, rel=1e-6)


def test_batch_norm_on_batches_of_two_falls_behind_where_the_plain_net_does_not():
    c, (tiny, big, plain) = _race("bn_batch_size", epochs=4)
    assert [c.race.batch_size(i) for i in range(3)] == [2, 64, 2]
    assert c.race.model_of(0).batch_norm and c.race.model_of(1).batch_norm and not c.race.model_of(2).batch_norm
    val = [s.epochs[-1]["val_acc"] for s in (tiny, big, plain)]
    assert val[0] < 0.75 and val[1] > 0.95 and val[2] > 0.85  # the tiny batch alone is not the problem
    assert tiny.epochs[-1]["acc"] < 0.5  # its batch statistics from 2 examples keep training back too
    text = cm.verdict(c, [tiny, big, plain])
    assert "too noisy" in text and f"{100 * (min(val[1:]) - val[0]):.1f} validation points" in text
    assert f"validation accuracy {100 * val[0]:.1f} %" in text


def test_the_tiny_net_underfits_and_the_large_one_overfits():
    c, (tiny, medium, large) = _race("capacity")
    train = [s.epochs[-1]["acc"] for s in (tiny, medium, large)]
    val = [s.epochs[-1]["val_acc"] for s in (tiny, medium, large)]
    assert train[0] < 0.85 and val[0] < 0.8 and train[0] == min(train)  # underfits: both low
    assert val[1] == max(val)  # the medium net generalises best
    gaps = [a - b for a, b in zip(train, val, strict=True)]
    assert gaps[2] == max(gaps) and gaps[2] > 0.08  # overfits
    stop = cm.turn(large)
    assert stop["epoch"] < 50 and large.epochs[-1]["val_loss"] > 2 * stop["val_loss"]  # its validation loss turned up early
    text = cm.verdict(c, [tiny, medium, large])
    assert "Tiny MLP (1 × 2) underfits" in text and "Large MLP (4 × 256) overfits" in text
    assert f"Large MLP (4 × 256): validation loss lowest at epoch {stop['epoch']}" in text
    fig = cm.mark_turns(race_figure([tiny, medium, large], cm.labels(c)), [tiny, medium, large])
    assert stop["epoch"] in [shape.x0 for shape in fig.layout.shapes]  # the large net's turn is marked
    assert f"epoch {stop['epoch']}" in " ".join(a.text for a in fig.layout.annotations)


def test_excessive_augmentation_lowers_validation_accuracy():
    c, (none, moderate, excessive) = _race("over_augmentation", epochs=6)
    val = [s.epochs[-1]["val_acc"] for s in (none, moderate, excessive)]
    assert min(val[:2]) > 0.9 and val[2] < max(val[:2]) - 0.1
    assert excessive.epochs[-1]["acc"] < 0.6  # the turned, noisy digits are a much harder task
    text = cm.verdict(c, [none, moderate, excessive])
    assert f"{100 * (max(val[:2]) - val[2]):.1f} validation points below" in text and "too much augmentation hurts" in text


def test_early_stopping_replays_patience_on_a_curve():
    losses = [1.0, 0.8, 0.7, 0.75, 0.9, 0.95, 1.0]
    s = Standing(0, "finished", None, 0, [], [{"epoch": i + 1, "val_loss": v, "acc": 0.5, "val_acc": 0.4}
                                              for i, v in enumerate(losses)])
    assert cm.early_stop(s, patience=3)["epoch"] == 3 and cm.early_stop(s, patience=3)["stopped_at"] == 6
    assert cm.early_stop(s, patience=10)["stopped_at"] == 7  # never ran out of patience: the last epoch


def test_every_comparison_has_its_texts_in_every_language():
    for name in cm.COMPARISONS:
        c = cm.comparison(name)
        c.race.validate()
        for lang in languages():
            assert t(f"tricks.cmp.name_{name}", lang) and t(f"tricks.cmp.about_{name}", lang)
            assert len(cm.labels(c, lang)) == len(c.race.contenders)
