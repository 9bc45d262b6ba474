"""Shared links (config <-> query parameters) and the learning-rate finder."""

from __future__ import annotations

import numpy as np
import torch

from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.models import build_model
from labcore.share import from_query, to_query
from labcore.train.lr_finder import find_lr


def test_query_round_trip_keeps_only_changes():
    cfg = RunConfig().with_(data={"name": "spirals", "noise": 0.2}, optim={"name": "lion", "lr": 3e-4},
                            train={"amp": True, "epochs": 7}, augment={"rotation": 15.0})
    q = to_query(cfg)
    # Lion starts from its own beta2 (0.99, labcore.train.optimizers), which differs from RunConfig()'s Adam
    assert q == {"data.name": "spirals", "data.noise": "0.2", "optim.name": "lion", "optim.lr": "0.0003",
                 "optim.beta2": "0.99", "augment.rotation": "15", "train.epochs": "7", "train.amp": "1"}
    assert from_query(RunConfig, q) == cfg
    assert to_query(RunConfig()) == {}


def test_hostile_query_values_are_ignored():
    q = {"optim.lr": "nan", "train.epochs": "ten", "train.batch_size": "1e400", "nope.x": "1",
         "data.name": "x" * 500}
    cfg = from_query(RunConfig, q)
    assert cfg.optim.lr == RunConfig().optim.lr
    assert cfg.train.epochs == RunConfig().train.epochs
    assert len(cfg.data.name) <= 100


def test_lr_finder_suggests_a_sane_rate_and_restores_the_model():
    cfg = RunConfig()
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = find_lr(cfg, data, model=model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert 1e-4 <= result.suggestion <= 0.1 < 10  # Adam on digits
    assert result.suggestion < result.min_loss_lr
    assert np.all(np.diff(result.lrs) > 0)
    # it stopped once the loss blew up, before the end of the sweep, or reached the end
    assert len(result.lrs) <= 100 and result.smoothed[-1] > result.smoothed.min()


def test_lr_finder_for_sgd_suggests_a_larger_rate_than_for_adam():
    data = load_dataset("digits")
    adam = find_lr(RunConfig(), data).suggestion
    sgd = find_lr(RunConfig().with_(optim={"name": "sgd"}), data).suggestion
    assert sgd > adam
