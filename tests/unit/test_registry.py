"""Registries (name -> builder tables) and the run configuration dataclasses."""

from __future__ import annotations

import dataclasses
import json

import pytest

from labcore.config import AugmentConfig, DataConfig, OptimConfig, RunConfig, TrainConfig
from labcore.data import DATASETS
from labcore.models import MODELS
from labcore.registry import Registry
from labcore.train.optimizers import OPTIMIZERS
from labcore.train.schedules import SCHEDULES


def test_register_get_build_and_list():
    reg = Registry("widget")

    @reg.register()
    def square(x):
        return x * x

    reg.register("cube")(lambda x: x**3)
    assert reg.names() == ["square", "cube"]
    assert list(reg) == ["square", "cube"]
    assert "cube" in reg and "circle" not in reg
    assert reg.get("square") is square
    assert reg.build("cube", x=2) == 8


def test_duplicate_name_is_rejected():
    reg = Registry("widget")
    reg.register("a")(lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(lambda: 2)
    assert reg.build("a") == 1


def test_unknown_name_lists_the_valid_ones():
    reg = Registry("widget")
    reg.register("alpha")(lambda: 1)
    reg.register("beta")(lambda: 2)
    with pytest.raises(KeyError) as err:
        reg.get("gamma")
    message = str(err.value)
    assert "widget" in message and "'gamma'" in message and "alpha" in message and "beta" in message


def test_the_lab_registries_hold_what_the_pages_offer():
    assert {
        "digits",
        "breast_cancer",
        "wine",
        "shapes",
        "xor",
        "circles",
        "moons",
        "spirals",
        "blobs",
        "mnist",
        "fashion_mnist",
        "cifar10",
    } <= set(DATASETS.names())
    assert {"mlp", "cnn", "resnet"} <= set(MODELS.names())
    assert {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lion"} <= set(
        OPTIMIZERS.names()
    )
    assert {"constant", "step", "exponential", "cosine", "one_cycle"} <= set(SCHEDULES.names())


def test_every_optimizer_option_is_a_config_field():
    fields = {f.name for f in dataclasses.fields(OptimConfig)}
    for name in OPTIMIZERS:
        spec = OPTIMIZERS.get(name)
        assert set(spec.options) <= fields, name
        assert set(spec.defaults) <= fields, name


def test_run_config_round_trips_through_json():
    cfg = RunConfig().with_(
        data={"name": "moons", "noise": 0.2},
        optim={"lr": 0.1, "schedule": "cosine"},
        augment={"rotation": 15.0},
        train={"epochs": 3},
    )
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.data == DataConfig(name="moons", noise=0.2)
    assert again.augment == AugmentConfig(rotation=15.0)
    assert again.train == TrainConfig(epochs=3)


def test_with_leaves_the_original_alone():
    base = RunConfig()
    changed = base.with_(optim={"lr": 0.5})
    assert base.optim.lr == OptimConfig().lr and changed.optim.lr == 0.5
    assert changed.model == base.model


def test_from_dict_rejects_unknown_fields_and_fills_missing_groups():
    with pytest.raises(ValueError, match="lr_typo"):
        RunConfig.from_dict({"optim": {"lr_typo": 1}})
    assert RunConfig.from_dict({"train": {"epochs": 2}}) == RunConfig(train=TrainConfig(epochs=2))


def test_augment_active_only_when_something_is_on():
    assert not AugmentConfig().active
    for change in (
        {"hflip": True},
        {"rotation": 10.0},
        {"crop_scale": 0.8},
        {"color_jitter": 0.2},
        {"noise_std": 0.1},
    ):
        assert dataclasses.replace(AugmentConfig(), **change).active, change
