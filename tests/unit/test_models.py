"""Models: every model on every dataset it accepts, layer summaries, activation hygiene, init schemes."""

from __future__ import annotations

from functools import cache

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labcore.config import DataConfig, ModelConfig
from labcore.data import DATASETS, dataset_info, load_dataset
from labcore.models import (
    ACTIVATIONS,
    INITS,
    MODELS,
    build_model,
    compatible,
    count_parameters,
    default_config,
    models_for,
    summarize,
)

BUILTIN = [n for n in DATASETS.names() if not dataset_info(n).online]
PAIRS = [(m, d) for m in MODELS.names() for d in BUILTIN if compatible(m, dataset_info(d))]
MISMATCHED = [(m, d) for m in MODELS.names() for d in BUILTIN if not compatible(m, dataset_info(d))]
ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


@cache
def data(name: str):
    n = 240 if name == "shapes" else 0  # keep the generated sets small
    return load_dataset(DataConfig(name=name, n_samples=n))


def _first_weighted_layer(model: nn.Module) -> nn.Module:
    return next(m for m in model.net.modules() if isinstance(m, nn.Linear | nn.Conv2d))


def _activation_problems(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Activations that are in-place, registered twice, or called other than exactly once per forward."""
    problems = []
    named = list(model.named_modules(remove_duplicate=False))
    acts = [(name, m) for name, m in named if isinstance(m, ACTIVATION_TYPES)]
    seen: dict[int, str] = {}
    for name, m in named:
        if getattr(m, "inplace", False):
            problems.append(f"{name} is in-place")
        if isinstance(m, ACTIVATION_TYPES) and id(m) in seen:
            problems.append(f"{name} is the same module as {seen[id(m)]}")
        seen.setdefault(id(m), name)
    calls: dict[int, int] = {}
    hooks = [
        m.register_forward_hook(lambda mod, i, o: calls.__setitem__(id(mod), calls.get(id(mod), 0) + 1))
        for _, m in acts
    ]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in hooks:
            h.remove()
    for name, m in acts:
        if calls.get(id(m), 0) != 1:
            problems.append(f"{name} ran {calls.get(id(m), 0)} times")
    return problems


def test_every_dataset_has_a_model():
    for name in BUILTIN:
        assert models_for(dataset_info(name)), name
    assert models_for(dataset_info("moons")) == ["mlp"]
    assert set(models_for(dataset_info("digits"))) == {"mlp", "cnn", "resnet", "vit"}


def test_pairs_cover_every_model_and_dataset():
    assert {m for m, _ in PAIRS} == set(MODELS.names())
    assert {d for _, d in PAIRS} == set(BUILTIN)
    assert MISMATCHED  # the CNNs do not take tabular or 2-D data


@pytest.mark.parametrize("model_name,data_name", MISMATCHED)
def test_incompatible_pairs_are_refused(model_name, data_name):
    with pytest.raises(ValueError, match=model_name):
        build_model(default_config(model_name), data(data_name))


@pytest.mark.parametrize("model_name,data_name", PAIRS)
def test_forward_and_backward(model_name, data_name):
    b = data(data_name)
    model = build_model(default_config(model_name), b, seed=0)
    x, y = b.x_train[:8], b.y_train[:8]
    out = model(x)
    assert out.shape == (8, b.num_classes)
    assert torch.isfinite(out).all()
    loss = F.mse_loss(out, y) if b.info.task == "regression" else F.cross_entropy(out, y)
    loss.backward()
    first = _first_weighted_layer(model)
    assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    "model_name,data_name", [p for p in PAIRS if p[1] in ("digits", "shapes", "wine", "moons")]
)
def test_summary_shapes_chain_to_the_classes(model_name, data_name):
    b = data(data_name)
    model = build_model(default_config(model_name), b)
    rows = summarize(model, b.input_shape)
    assert rows[0]["layer"] == "input" and rows[0]["output"] == b.input_shape
    assert rows[-1]["output"] == (b.num_classes,)
    assert len(rows) == 1 + len(list(model.net.children()))
    # every parameter is counted once, in the row of the layer that owns it
    assert sum(r["params"] for r in rows) == count_parameters(model)[1]
    assert model.training  # summarize puts the mode back


@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("model_name", MODELS.names())
def test_activations_are_separate_and_not_in_place(model_name, act):
    b = data(next(d for d in ("digits", "recall") if compatible(model_name, dataset_info(d))))
    cfg = ModelConfig(name=model_name, activation=act, depth=2, width=8)
    model = build_model(cfg, b)
    assert any(isinstance(m, ACTIVATIONS[act]) for m in model.modules())
    assert _activation_problems(model, b.x_train[:4]) == []


def test_the_activation_check_catches_a_shared_in_place_relu():
    from torchvision.models.resnet import BasicBlock  # reuses one in-place ReLU twice

    block = BasicBlock(4, 4)
    model = nn.Sequential()
    model.add_module("net", block)
    problems = _activation_problems(model, torch.rand(1, 4, 6, 6))
    assert any("in-place" in p for p in problems)
    assert any("ran 2 times" in p for p in problems)
    shared = nn.ReLU()
    twice = nn.Sequential(nn.Linear(2, 2), shared, nn.Linear(2, 2), shared)
    assert any("same module" in p for p in _activation_problems(nn.Sequential(twice), torch.rand(1, 2)))


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("model_name,data_name", [("mlp", "moons"), ("cnn", "digits"), ("resnet", "digits")])
def test_every_init_scheme(model_name, data_name, init):
    b = data(data_name)
    cfg = ModelConfig(name=model_name, init=init, width=16)
    model = build_model(cfg, b, seed=0)
    weighted = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    out = model(b.x_train[:4])
    assert out.shape == (4, b.num_classes) and torch.isfinite(out).all()
    weights = torch.cat([m.weight.flatten() for m in weighted])
    default = build_model(ModelConfig(name=model_name, width=16), b, seed=0)
    default_weights = torch.cat(
        [m.weight.flatten() for m in default.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    )
    if init == "zeros":
        assert (weights == 0).all()
        assert (out == out[0, 0]).all()  # every logit equal: symmetric weights cannot tell inputs apart
    elif init == "default":
        assert torch.equal(weights, default_weights)
    else:
        assert not torch.equal(weights, default_weights)
        assert weights.abs().max() > 0
    if init == "normal":
        assert abs(weights.std().item() - 0.01) < 0.002
    if init != "default":
        assert all(m.bias is None or (m.bias == 0).all() for m in weighted)


def test_unknown_init_and_activation_are_rejected():
    b = data("moons")
    with pytest.raises(KeyError, match="xavier"):
        build_model(ModelConfig(name="mlp", init="glorot"), b)
    with pytest.raises(KeyError, match="relu"):
        build_model(ModelConfig(name="mlp", activation="swishy"), b)


def test_model_standardises_its_input_with_training_statistics():
    b = data("digits")
    model = build_model(default_config("cnn"), b)
    assert torch.allclose(model.normalize.mean.flatten(), torch.tensor(b.mean))
    assert torch.allclose(model.normalize.std.flatten(), torch.tensor(b.std))
    z = model.normalize(b.x_train)
    assert abs(z.mean().item()) < 1e-3 and abs(z.std().item() - 1) < 1e-2


def test_same_seed_same_weights():
    b = data("digits")
    one = build_model(default_config("cnn"), b, seed=5).state_dict()
    two = build_model(default_config("cnn"), b, seed=5).state_dict()
    three = build_model(default_config("cnn"), b, seed=6).state_dict()
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert not all(torch.equal(one[k], three[k]) for k in one)


def test_options_change_the_architecture():
    b = data("shapes")
    convs = [
        m
        for m in build_model(ModelConfig(name="cnn", depth=3, width=8), b).modules()
        if isinstance(m, nn.Conv2d)
    ]
    assert [c.out_channels for c in convs] == [8, 16, 32]
    plain = build_model(
        ModelConfig(name="cnn", batch_norm=False, pooling="avg", kernel_size=5, dropout=0.3), b
    )
    kinds = {type(m) for m in plain.modules()}
    assert nn.BatchNorm2d not in kinds and nn.AvgPool2d in kinds
    assert any(isinstance(m, nn.Dropout) and m.p == 0.3 for m in plain.modules())
    assert all(c.kernel_size == (5, 5) for c in plain.modules() if isinstance(c, nn.Conv2d))
    mlp = build_model(ModelConfig(name="mlp", depth=3, width=20), data("wine"))
    linears = [m for m in mlp.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(13, 20), (20, 20), (20, 20), (20, 3)]
    deeper = build_model(ModelConfig(name="resnet", depth=2, width=8), b)
    assert (
        count_parameters(deeper)[1]
        > count_parameters(build_model(ModelConfig(name="resnet", depth=1, width=8), b))[1]
    )


def test_deep_cnn_on_tiny_images_stops_pooling_at_one_pixel():
    b = data("digits")  # 8x8: five halvings would go below 1x1
    model = build_model(ModelConfig(name="cnn", depth=5, width=4), b)
    assert model(b.x_train[:2]).shape == (2, 10)
    assert summarize(model, b.input_shape)[-1]["output"] == (10,)
