"""Model registry: `build_model(ModelConfig, data)` returns a classifier that standardises its own input.

Each entry says which kinds of data it accepts (`compatible`), so pages and tests can pair models
with datasets without special cases.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from labcore.config import ModelConfig
from labcore.data import DataBundle, DatasetInfo
from labcore.models.cnn import cnn
from labcore.models.layers import ACTIVATIONS, INITS, Standardize, init_weights
from labcore.models.mlp import mlp
from labcore.models.resnet import resnet
from labcore.models.sequence import FromLastValue, conv1d, gru, lstm, rnn, transformer
from labcore.models.vit import vit
from labcore.registry import Registry
from labcore.seeding import init_rng


@dataclass(frozen=True)
class ModelSpec:
    build: Callable[..., nn.Module]
    kinds: tuple[str, ...]  # data kinds it accepts: "image", "tabular", "points", "tokens", "series"
    options: tuple[str, ...]  # ModelConfig fields it reads (the page shows only these)
    defaults: dict[str, object]  # sensible starting values for those fields


MODELS = Registry("model")
MODELS.register("mlp")(ModelSpec(
    mlp, ("image", "tabular", "points"), ("depth", "width", "activation", "init", "batch_norm", "layer_norm", "dropout"),
    {"depth": 2, "width": 64, "batch_norm": False},
))
MODELS.register("cnn")(ModelSpec(
    cnn, ("image",), ("depth", "width", "activation", "init", "batch_norm", "layer_norm", "dropout", "kernel_size",
                   "pooling"),
    {"depth": 2, "width": 32, "batch_norm": True},
))
MODELS.register("resnet")(ModelSpec(
    resnet, ("image",), ("depth", "width", "activation", "init", "dropout"), {"depth": 1, "width": 16},
))
SEQUENCE_KINDS = ("tokens", "series")
for _cell, _build in (("rnn", rnn), ("gru", gru), ("lstm", lstm)):
    MODELS.register(_cell)(ModelSpec(
        _build, SEQUENCE_KINDS, ("depth", "width", "activation", "bidirectional", "dropout"),
        {"depth": 1, "width": 32, "activation": "tanh"},
    ))
MODELS.register("conv1d")(ModelSpec(
    conv1d, SEQUENCE_KINDS, ("depth", "width", "activation", "kernel_size", "dropout"),
    {"depth": 2, "width": 16, "kernel_size": 5},
))
MODELS.register("transformer")(ModelSpec(
    transformer, SEQUENCE_KINDS, ("depth", "width", "activation", "heads", "dropout", "positions"),
    {"depth": 2, "width": 32, "activation": "gelu", "heads": 2},
))
MODELS.register("vit")(ModelSpec(
    vit, ("image",), ("depth", "width", "activation", "heads", "patch_size", "dropout"),
    {"depth": 2, "width": 32, "activation": "gelu", "heads": 2},
))


def compatible(model_name: str, info: DatasetInfo) -> bool:
    return info.kind in MODELS.get(model_name).kinds


def models_for(info: DatasetInfo) -> list[str]:
    return [name for name in MODELS if compatible(name, info)]


def default_config(name: str) -> ModelConfig:
    """The registry's starting point for a model: `ModelConfig(name=...)` with its own defaults."""
    return ModelConfig(name=name, **MODELS.get(name).defaults)


def build_model(cfg: ModelConfig, data: DataBundle, *, seed: int | None = None) -> nn.Sequential:
    """Build `cfg.name` for `data`: Standardize (training statistics) followed by the network."""
    spec: ModelSpec = MODELS.get(cfg.name)
    if not compatible(cfg.name, data.info):
        raise ValueError(f"model {cfg.name!r} does not accept {data.info.kind} data; use one of {models_for(data.info)}")
    kwargs = {"depth": cfg.depth, "width": cfg.width, "act": cfg.activation, "batch_norm": cfg.batch_norm,
              "layer_norm": cfg.layer_norm,
              "dropout": cfg.dropout, "kernel_size": cfg.kernel_size, "pooling": cfg.pooling,
              "bidirectional": cfg.bidirectional, "heads": cfg.heads, "patch_size": cfg.patch_size,
              "positions": cfg.positions}
    kwargs = {k: v for k, v in kwargs.items() if ("activation" if k == "act" else k) in spec.options}
    with init_rng(seed):  # the seed alone decides the weights
        net = spec.build(input_shape=data.input_shape, num_classes=data.num_classes, **kwargs)
        init_weights(net, cfg.init, cfg.activation)
    if data.info.kind == "series" and data.info.task == "regression":
        net = FromLastValue(net)
    norm = Standardize(data.mean, data.std, dims=len(data.input_shape))
    return nn.Sequential(OrderedDict(normalize=norm, net=net))


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total


def summarize(model: nn.Sequential, input_shape: tuple[int, ...]) -> list[dict[str, object]]:
    """One row per top-level layer (a residual block counts as one): name, type, output shape, parameters.

    Shapes come from a dummy forward pass with hooks, so they are what the model really produces.
    """
    rows: list[dict[str, object]] = []
    layers = [("input", model.normalize)] + list(model.net.named_children())
    hooks = []
    for name, module in layers:
        def record(mod, _inp, out, name=name):
            rows.append({"layer": name, "type": type(mod).__name__, "output": tuple(out.shape[1:]),
                         "params": sum(p.numel() for p in mod.parameters())})

        hooks.append(module.register_forward_hook(record))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return rows


__all__ = ["MODELS", "ModelSpec", "SEQUENCE_KINDS", "ACTIVATIONS", "INITS", "build_model", "compatible", "models_for",
           "count_parameters", "default_config", "summarize"]
