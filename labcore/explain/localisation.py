"""Does Grad-CAM point at the object? Scores on the shapes dataset, whose images keep their masks.

Two scores over the test set, both for the true class:
- mass inside: the share of the positive Grad-CAM mass that falls inside the object's mask;
- pointing game: how often the single hottest pixel lies inside the mask.
The mask's own share of the image is the chance level of the first score (a uniform map gets exactly that).

Model-randomisation check (Adebayo et al., 2018): an explanation that looks the same for a network
with random weights explains the image, not the model. `randomised_copy` gives that network. And a map that
uses no model at all (`model_free`: each pixel's colour distance from the image's median) shows how high the
scores go on these pictures for free: on synthetic shapes the object is simply the odd-coloured region.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from labcore.explain.attributions import gradcam_maps
from labcore.explain.locking import exclusive
from labcore.seeding import seeded


@dataclass(frozen=True)
class LocalisationResult:
    mass_inside: float  # mean share of positive Grad-CAM mass inside the mask
    pointing: float  # share of images whose Grad-CAM maximum lies inside the mask
    mask_share: float  # mean share of the image covered by the mask (chance level for mass_inside)
    n: int


@exclusive
def localisation(model: nn.Module, x: torch.Tensor, y: torch.Tensor, masks: np.ndarray | torch.Tensor,
                 batch: int = 100, limit: int | None = None,
                 progress: Callable[[float], None] | None = None) -> LocalisationResult:
    """Grad-CAM localisation scores of `model` on images `x` (N, C, H, W) with boolean masks (N, H, W);
    `progress(fraction)` after every batch."""
    model.eval()
    masks = torch.as_tensor(np.asarray(masks)).bool()
    n = len(y) if limit is None else min(limit, len(y))
    device = next(model.parameters()).device
    parts = []
    for i in range(0, n, batch):
        xb = x[i : min(i + batch, n)].float().to(device).requires_grad_(True)
        cam = gradcam_maps(model, xb, y[i : i + len(xb)].to(device)).cpu()
        parts.append(_scores(cam, masks[i : i + len(xb)]))
        if progress is not None:
            progress(min(i + batch, n) / n)
    return _result(parts, masks[:n])


def _scores(maps: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the share of the map's positive mass inside the mask, and whether its hottest pixel is inside."""
    maps = maps.clamp_min(0)
    total = maps.flatten(1).sum(1)
    inside = (maps * m).flatten(1).sum(1)
    # A map with no positive evidence points nowhere: it scores 0 rather than dividing by zero.
    mass = torch.where(total > 0, inside / total.clamp_min(1e-12), torch.zeros_like(total))
    peak = maps.flatten(1).argmax(1)
    return mass, m.flatten(1).gather(1, peak[:, None])[:, 0] & (total > 0)


def _result(parts: list[tuple[torch.Tensor, torch.Tensor]], masks: torch.Tensor) -> LocalisationResult:
    return LocalisationResult(
        mass_inside=float(torch.cat([p[0] for p in parts]).mean()),
        pointing=float(torch.cat([p[1] for p in parts]).float().mean()),
        mask_share=float(masks.float().mean()),
        n=len(masks),
    )


def colour_distance_maps(x: torch.Tensor) -> torch.Tensor:
    """A map that knows nothing about any model: each pixel's colour distance from its image's median colour
    (N, C, H, W) -> (N, H, W). On pictures where the object is simply the odd-coloured region it lights the
    object up, which is what a localisation score must be compared with."""
    x = x.float()
    median = x.flatten(2).median(dim=2).values[:, :, None, None]
    return (x - median).pow(2).sum(1).sqrt()


def model_free(x: torch.Tensor, masks: np.ndarray | torch.Tensor, limit: int | None = None) -> LocalisationResult:
    """The same two scores for `colour_distance_maps`: the bar a model's map has to clear on these pictures."""
    masks = torch.as_tensor(np.asarray(masks)).bool()
    n = len(x) if limit is None else min(limit, len(x))
    return _result([_scores(colour_distance_maps(x[:n]), masks[:n])], masks[:n])


def randomised_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy with every learnable layer re-initialised (input statistics kept): the sanity-check baseline."""
    clone = copy.deepcopy(model)
    with seeded(seed):  # never reseed the global generator under another session's seeded run
        for module in clone.modules():
            if module is not clone and hasattr(module, "reset_parameters"):
                module.reset_parameters()
            if hasattr(module, "reset_running_stats"):
                module.reset_running_stats()
    return clone.eval()
