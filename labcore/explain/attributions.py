"""Attribution maps through captum: which pixels push the score of one class up.

Each method answers the question differently:
- Grad-CAM weighs a conv layer's feature maps (the last one's unless told) by their average gradient (coarse
  but class-specific);
- Guided Grad-CAM multiplies that by guided backprop's sharp pixel-level gradients;
- Saliency is the plain gradient of the class score with respect to each pixel;
- Integrated Gradients sums gradients along a straight path from a black image to this one;
- Occlusion greys out one patch at a time and records how much the class score drops.

All maps come back as (H, W) arrays in [0, 1] (the positive evidence, scaled by its maximum), so
they can be shown side by side on the same colour scale.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import (
    GuidedGradCam,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    Occlusion,
    Saliency,
)
from torch import nn

from labcore.explain.locking import exclusive
from labcore.i18n import LabError

METHODS = ("gradcam", "guided_gradcam", "integrated_gradients", "saliency", "occlusion")
NEEDS_CONV = ("gradcam", "guided_gradcam")


@dataclass(frozen=True, eq=False)
class Explanation:
    """One attribution map: `attribution` is (H, W), non-negative, max 1 (all zeros if no evidence)."""

    method: str
    target: int
    attribution: np.ndarray
    seconds: float


def conv_layers(model: nn.Module) -> list[nn.Conv2d]:
    """Every Conv2d of the model in definition order (the layers Grad-CAM can read)."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def last_conv_layer(model: nn.Module) -> nn.Conv2d | None:
    """The last Conv2d in the model (Grad-CAM's default layer), or None for models without convolutions."""
    convs = conv_layers(model)
    return convs[-1] if convs else None


def _cam_layer(model: nn.Module, layer: int | None) -> nn.Conv2d:
    """Grad-CAM's layer: conv number `layer` (0-based, in conv_layers order), or the last one for None."""
    convs = conv_layers(model)
    if not convs:
        raise LabError("explain.no_conv")
    if layer is None:
        return convs[-1]
    if not -len(convs) <= int(layer) < len(convs):
        raise ValueError(f"conv layer {layer} out of range: the model has {len(convs)}")
    return convs[int(layer)]


def normalise_map(a: torch.Tensor) -> torch.Tensor:
    """(N, H, W) -> positive part divided by each map's maximum (a flat map stays all zeros)."""
    a = a.clamp_min(0)
    peak = a.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1)
    return a / peak


@exclusive
def gradcam_maps(model: nn.Module, x: torch.Tensor, target: torch.Tensor | int, layer: int | None = None) -> torch.Tensor:
    """Raw Grad-CAM (N, H, W) at input resolution, before the ReLU: for batches (localisation).
    `layer` picks the conv layer by its index in `conv_layers(model)`; None: the last one."""
    cam = LayerGradCam(model, _cam_layer(model, layer)).attribute(x, target=target, relu_attributions=False)
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")[:, 0].detach()


def _raw(model: nn.Module, x: torch.Tensor, method: str, target: int, layer: int | None = None) -> torch.Tensor:
    """Unnormalised (1, H, W) evidence for `target` by `method` (`layer`: Grad-CAM's conv, None = last)."""
    if method == "gradcam":
        return gradcam_maps(model, x, target, layer)
    if method == "guided_gradcam":
        layer = _cam_layer(model, layer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # captum announces its temporary ReLU hooks
            a = GuidedGradCam(model, layer).attribute(x, target=target, interpolate_mode="bilinear")
        return a.abs().sum(1)
    if method == "integrated_gradients":
        a = IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=target, n_steps=32,
                                                 internal_batch_size=32)
        return a.abs().sum(1)
    if method == "saliency":
        a = Saliency(model).attribute(x, target=target, abs=True)
        return a.amax(1)  # strongest channel per pixel, as in the original saliency paper
    if method == "occlusion":
        c, h, w = x.shape[1:]
        k = max(2, min(h, w) // 6)  # about a sixth of the image: the size of a typical object part
        a = Occlusion(model).attribute(x, sliding_window_shapes=(c, k, k), strides=(c, max(1, k // 2), max(1, k // 2)),
                                       target=target, baselines=0.5, perturbations_per_eval=64)
        return a.sum(1)  # positive where hiding the patch lowers the class score
    raise KeyError(f"unknown attribution method {method!r}; choose one of {METHODS}")


@exclusive
def explain(model: nn.Module, image: torch.Tensor, method: str, target: int, *, layer: int | None = None) -> Explanation:
    """Attribution map of one image (C, H, W) in [0, 1] for class `target`; `layer` is the conv layer
    (index in `conv_layers(model)`) that Grad-CAM and Guided Grad-CAM read, None for the last one."""
    model.eval()
    device = next(model.parameters()).device
    x = image.detach().float().unsqueeze(0).to(device).requires_grad_(True)
    start = time.perf_counter()
    raw = _raw(model, x, method, int(target), layer).detach()
    att = normalise_map(raw.float())[0].cpu().numpy().astype(np.float32)
    return Explanation(method, int(target), att, time.perf_counter() - start)


@exclusive
def explain_all(model: nn.Module, image: torch.Tensor, target: int,
                methods: tuple[str, ...] = METHODS, *, layer: int | None = None) -> list[Explanation]:
    """Every method that applies to this model (models without convolutions skip Grad-CAM)."""
    has_conv = last_conv_layer(model) is not None
    return [explain(model, image, m, target, layer=layer) for m in methods if has_conv or m not in NEEDS_CONV]
