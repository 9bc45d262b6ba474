"""Backbones for transfer learning and the wrapper that makes any of them a classifier for any images.

A `TransferNet` is three parts in a row:

    normalize (`Prepare`: grey -> 3 channels, resize, per-channel standardisation)
    -> backbone (convolutions + global pooling: one feature vector per image)
    -> head (a new Linear layer for the target classes)

so callers feed raw [0, 1] images of whatever size and channel count the target data has. The backbone
keeps the names of its blocks, earliest first, so strategies can unfreeze "the last N blocks".

Backbones come from a registry: three torchvision ImageNet networks and the lab's own small CNN
(pretrained on a built-in source task, see `labcore.transfer.weights`).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn

from labcore.models.cnn import cnn
from labcore.registry import Registry
from labcore.seeding import init_rng

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone (random weights) and what its pretrained weights expect."""

    # -> (feature extractor with random weights, feature size, blocks earliest first as submodule names)
    build: Callable[[], tuple[nn.Module, int, list[tuple[str, ...]]]]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    default_size: int  # the wrapper resizes inputs to this many pixels (a slider can go higher)
    torchvision: str = ""  # torchvision model name; empty for the lab's own backbones
    source: str = ""  # lab backbones: the built-in source task they are pretrained on


BACKBONES = Registry("backbone")


class Prepare(nn.Module):
    """Inside the model, so exports and explanations take raw [0, 1] pixels: channels, size, statistics."""

    def __init__(self, in_channels: int, size: int, mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.in_channels, self.size = in_channels, size
        # `mean` is (1, 3, 1, 1): labcore.explain reads its rank to tell one image from a batch.
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 1:  # grey images: the same plane in all three colour channels
            x = x.repeat(1, 3, 1, 1)
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std


class TransferNet(nn.Module):
    """normalize -> backbone -> head; `block_names` are the backbone's blocks (submodule names), earliest first."""

    def __init__(self, normalize: Prepare, backbone: nn.Module, head: nn.Linear,
                 block_names: list[tuple[str, ...]]):
        super().__init__()
        self.normalize, self.backbone, self.head = normalize, backbone, head
        self.block_names = [tuple(b) for b in block_names]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(self.normalize(x)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's feature vector per image: what a frozen backbone hands to the head."""
        return self.backbone(self.normalize(x))

    def blocks(self) -> list[list[nn.Module]]:
        return [[self.backbone.get_submodule(name) for name in block] for block in self.block_names]


def wrap(backbone: nn.Module, dim: int, block_names: list[tuple[str, ...]], spec: BackboneSpec, *, in_channels: int,
         num_classes: int, size: int = 0) -> TransferNet:
    prep = Prepare(in_channels, size or spec.default_size, spec.mean, spec.std)
    return TransferNet(prep, backbone, nn.Linear(dim, num_classes), block_names)


def build_transfer_net(name: str, *, in_channels: int, num_classes: int, size: int = 0,
                       seed: int | None = None) -> TransferNet:
    """Backbone `name` with random weights (what "from scratch" trains), wrapped for the target data."""
    spec: BackboneSpec = BACKBONES.get(name)
    with init_rng(seed):  # the seed alone decides the weights
        backbone, dim, blocks = spec.build()
        return wrap(backbone, dim, blocks, spec, in_channels=in_channels, num_classes=num_classes, size=size)


def _no_inplace(model: nn.Module) -> nn.Module:
    # Attribution methods hook activations; an in-place activation overwrites what they need.
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False
    return model


# -- torchvision ImageNet networks: the classifier goes, global average pooling stays ----------------------------
# State-dict keys stay torchvision's, so an ImageNet checkpoint loads as-is once its classifier keys are dropped.
def _resnet18() -> tuple[nn.Module, int, list[tuple[str, ...]]]:
    net = _no_inplace(tvm.resnet18(weights=None))
    net.fc = nn.Identity()
    return net, 512, [("conv1", "bn1"), ("layer1",), ("layer2",), ("layer3",), ("layer4",)]


def _mobilenet_v3_small() -> tuple[nn.Module, int, list[tuple[str, ...]]]:
    net = _no_inplace(tvm.mobilenet_v3_small(weights=None))
    net.classifier = nn.Identity()
    return net, 576, [(f"features.{i}",) for i in range(len(net.features))]


class _VGGFeatures(nn.Module):
    """VGG16's convolutions, then global average pooling: 512 numbers per image at any input size.

    (VGG's own 7x7 pooling + 25088 -> 4096 -> 4096 classifier holds 90 % of its 138 M weights.)
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = _no_inplace(tvm.vgg.make_layers(tvm.vgg.cfgs["D"]))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        for m in self.features.modules():  # torchvision's VGG initialisation, without building the classifier
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x))


def _vgg16() -> tuple[nn.Module, int, list[tuple[str, ...]]]:
    net = _VGGFeatures()
    # Five blocks, each ending with a max-pool; fine-tuning unfreezes whole blocks.
    ends = [i for i, m in enumerate(net.features) if isinstance(m, nn.MaxPool2d)]
    starts = [0] + [e + 1 for e in ends[:-1]]
    return net, 512, [tuple(f"features.{i}" for i in range(s, e + 1)) for s, e in zip(starts, ends, strict=True)]


# -- the lab's own small CNN ------------------------------------------------------------------------------------
class LabBackbone(nn.Module):
    """labcore's plain CNN without its classifier: three conv blocks, then average pooling to 2x2.

    A 2x2 grid rather than one global average keeps a little layout (a 6 and a 9 have the same strokes in
    different places), which the digit pair needs.
    """

    def __init__(self, width: int = 16, depth: int = 3, grid: int = 2):
        super().__init__()
        layers = list(cnn(input_shape=(3, 16, 16), num_classes=1, depth=depth, width=width))[:-3]
        convs = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)] + [len(layers)]
        self.blocks = nn.Sequential(OrderedDict(
            (f"block{k + 1}", nn.Sequential(*layers[a:b])) for k, (a, b) in enumerate(itertools.pairwise(convs))))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(grid), nn.Flatten())
        self.dim = grid * grid * width * 2 ** (depth - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.blocks(x))


def _lab(**options: int) -> Callable[[], tuple[nn.Module, int, list[tuple[str, ...]]]]:
    def build() -> tuple[nn.Module, int, list[tuple[str, ...]]]:
        net = LabBackbone(**options)
        return net, net.dim, [(f"blocks.{name}",) for name, _ in net.blocks.named_children()]

    return build


# Sizes picked so pretraining takes a few seconds on one core (digits: ~2 s, shapes: ~4 s).
BACKBONES.register("lab_digits")(BackboneSpec(_lab(width=16, grid=2), (0.2,) * 3, (0.25,) * 3, 16,
                                              source="digits_0_4"))
BACKBONES.register("lab_shapes")(BackboneSpec(_lab(width=32, grid=1), (0.5,) * 3, (0.3,) * 3, 24,
                                              source="shapes_circle_square"))
BACKBONES.register("resnet18")(BackboneSpec(_resnet18, IMAGENET_MEAN, IMAGENET_STD, 64, torchvision="resnet18"))
BACKBONES.register("mobilenet_v3_small")(BackboneSpec(_mobilenet_v3_small, IMAGENET_MEAN, IMAGENET_STD, 64,
                                                      torchvision="mobilenet_v3_small"))
BACKBONES.register("vgg16")(BackboneSpec(_vgg16, IMAGENET_MEAN, IMAGENET_STD, 64, torchvision="vgg16"))
