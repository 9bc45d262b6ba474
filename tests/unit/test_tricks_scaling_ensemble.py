"""Input scaling switched off (DataConfig.standardize, Contender.raw_inputs) and averaging several models
(Contender.seed, labcore.tricks.ensemble): the effects the Training tricks page's two comparisons show."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss

from labcore.config import DataConfig, RunConfig, TrainConfig
from labcore.data import load_dataset
from labcore.models import default_config
from labcore.train.race import Contender, Race, RaceConfig, optimizer_defaults
from labcore.tricks import compare as cm
from labcore.tricks import ensemble as ens
from labcore.tricks import scaling

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_standardize_off_keeps_the_raw_features_and_the_same_split():
    scaled = load_dataset(DataConfig(name="breast_cancer"))
    raw = load_dataset(DataConfig(name="breast_cancer", standardize=False))
    assert torch.equal(scaled.y_train, raw.y_train) and torch.equal(scaled.y_val, raw.y_val)
    assert float(raw.x_train.max()) > 1000 and raw.mean == () and raw.std == ()
    assert np.allclose(scaled.x_train.mean(0).numpy(), 0, atol=1e-4)
    assert RunConfig.from_dict({"data": {"name": "wine"}}).data.standardize  # older configs keep standardising


def test_the_feature_ranges_span_orders_of_magnitude():
    r = scaling.feature_ranges(DataConfig(name="breast_cancer"))
    assert len(r["name"]) == 30 and r["max"].max() > 4000 and r["mean"].min() < 0.01
    fig = scaling.ranges_figure(r)
    assert fig.layout.xaxis.type == "log" and len(fig.data[1].y) == 30


def test_raw_inputs_leave_sgd_at_the_majority_class_while_standardised_learns():
    c = cm.comparison("scaling")
    race = Race(c.race, load_dataset(c.race.data))
    race.fit()
    val = {s.index: s.epochs[-1]["val_acc"] for s in race.standings()}
    _, share = cm.majority(c)
    assert val[0] <= share + cm.STUCK  # SGD with momentum on raw features: no better than always "benign"
    assert val[1] > 0.9 and val[1] - val[0] > 0.25  # the same optimizer, standardised
    assert val[2] > share + 0.1  # Adam learns on raw features too
    text = cm.verdict(c, race.standings())
    assert "did no better than that" in text and f"{100 * share:.1f} %" in text


def test_a_contender_seed_changes_the_start_and_nothing_else():
    data = DataConfig(name="moons", n_samples=100)
    sgd = optimizer_defaults("sgd", lr=0.1)
    cfg = RaceConfig(data=data, model=default_config("mlp"), train=TrainConfig(epochs=1, seed=3),
                     contenders=(Contender(sgd), Contender(sgd, seed=3), Contender(sgd, seed=4)))
    race = Race(cfg, load_dataset(data))
    first = [next(race.contender_model(i).net.parameters()).detach().clone() for i in range(3)]
    assert torch.equal(first[0], first[1]) and not torch.equal(first[0], first[2])
    assert len(race.heats) == 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_ensemble_log_loss_is_never_above_the_members_mean(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 50)
    probs = [rng.dirichlet(np.ones(3), 50) for _ in range(5)]
    members, mean, whole = ens.table(probs, y)
    assert whole.loss <= mean.loss
    assert whole.loss == pytest.approx(log_loss(y, np.mean(probs, 0), labels=[0, 1, 2]))
    assert mean.acc == pytest.approx(np.mean([(p.argmax(1) == y).mean() for p in probs]))


def test_five_trained_members_and_their_average():
    c = cm.comparison("ensemble")
    short = replace(c.race, train=replace(c.race.train, epochs=30))
    race = Race(short, load_dataset(short.data))
    race.fit()
    probs = cm.ensemble_probs(race, race.data.x_val)
    assert not all(np.allclose(probs[0], p) for p in probs[1:])  # different seeds, different networks
    members, mean, whole = cm.ensemble_table(race)
    assert len(members) == cm.MEMBERS and whole.loss < mean.loss
    y = race.data.y_val.numpy()
    assert whole.loss == pytest.approx(log_loss(y, ens.average(probs)))
    assert whole.acc == pytest.approx((ens.average(probs).argmax(1) == y).mean())
    text = cm.verdict(replace(c, race=short), race.standings(), race=race)
    assert f"the ensemble {whole.loss:.3f}, below the members' mean" in text
    xx, yy, grid = ens.grid(race.data.x_val.numpy(), n=20)
    assert grid.shape == (400, 2) and 0 < ens.disagreement(cm.ensemble_probs(race, grid)) < 1
