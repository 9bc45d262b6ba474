"""Does Grad-CAM point at the object? Scores on the shapes dataset, whose images keep their masks.

Two scores over the test set, both for the true class:
- mass inside: the share of the positive Grad-CAM mass that falls inside the object's mask;
- pointing game: how often the single hottest pixel lies inside the mask.
The mask's own share of the image is the chance level of the first score (a uniform map gets exactly that).

Model-randomisation check (Adebayo et al., 2018): an explanation that looks the same for a network
with random weights explains the image, not the model. `randomised_copy` gives that network.
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
    mass, hits = [], []
    for i in range(0, n, batch):
        xb = x[i : min(i + batch, n)].float().to(device).requires_grad_(True)
        cam = gradcam_maps(model, xb, y[i : i + len(xb)].to(device)).cpu().clamp_min(0)
        m = masks[i : i + len(xb)]
        total = cam.flatten(1).sum(1)
        inside = (cam * m).flatten(1).sum(1)
        # A map with no positive evidence points nowhere: it scores 0 rather than dividing by zero.
        mass.append(torch.where(total > 0, inside / total.clamp_min(1e-12), torch.zeros_like(total)))
        peak = cam.flatten(1).argmax(1)
        hits.append(m.flatten(1).gather(1, peak[:, None])[:, 0] & (total > 0))
        if progress is not None:
            progress(min(i + batch, n) / n)
    return LocalisationResult(
        mass_inside=float(torch.cat(mass).mean()),
        pointing=float(torch.cat(hits).float().mean()),
        mask_share=float(masks[:n].float().mean()),
        n=n,
    )


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
