"""Adversarial examples: tiny pixel changes, chosen with the model's own gradients, that change its answer.

FGSM takes one step of size eps along the sign of the gradient; PGD takes many smaller steps and
projects back into the eps-box around the original after each one, so it finds stronger attacks
within the same budget. Untargeted attacks push the current answer's loss up; targeted ones pull a
chosen class's loss down. Everything happens in [0, 1] pixel space (the model normalises inside).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True, eq=False)
class AttackResult:
    original: torch.Tensor  # (C, H, W)
    adversarial: torch.Tensor  # (C, H, W), within eps of the original in every pixel
    probs_before: np.ndarray  # (K,)
    probs_after: np.ndarray
    label: int  # the class attacked away from (untargeted) or towards (targeted)
    targeted: bool

    @property
    def perturbation(self) -> torch.Tensor:
        return self.adversarial - self.original

    @property
    def success(self) -> bool:
        """Targeted: the target now wins. Untargeted: the original answer no longer does."""
        winner = int(self.probs_after.argmax())
        return winner == self.label if self.targeted else winner != self.label


def _step_direction(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, targeted: bool) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), labels)
    (grad,) = torch.autograd.grad(loss, x)
    # Untargeted: climb the loss of the current answer; targeted: descend the loss of the target.
    return -grad.sign() if targeted else grad.sign()


def fgsm(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float, targeted: bool = False) -> torch.Tensor:
    """One signed-gradient step of size `eps` on a batch (N, C, H, W) in [0, 1]."""
    model.eval()
    return (x + eps * _step_direction(model, x, labels, targeted)).clamp(0, 1).detach()


def pgd(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float, steps: int = 20,
        step_size: float | None = None, targeted: bool = False) -> torch.Tensor:
    """Projected gradient descent in the L-infinity ball of radius `eps` (Madry et al., 2018)."""
    model.eval()
    step_size = step_size if step_size is not None else 2.5 * eps / steps  # can cross the ball in steps/2.5
    adv = x.clone()
    for _ in range(steps):
        adv = adv + step_size * _step_direction(model, adv, labels, targeted)
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1).detach()
    return adv


def attack(model: nn.Module, image: torch.Tensor, method: str, eps: float, target: int | None = None,
           steps: int = 20) -> AttackResult:
    """Attack one image (C, H, W). `target=None` is untargeted (away from the predicted class)."""
    model.eval()
    device = next(model.parameters()).device
    x = image.detach().float().unsqueeze(0).to(device)
    with torch.no_grad():
        before = torch.softmax(model(x), 1)[0]
    targeted = target is not None
    label = int(target) if targeted else int(before.argmax())
    labels = torch.tensor([label], device=device)
    if method == "fgsm":
        adv = fgsm(model, x, labels, eps, targeted)
    elif method == "pgd":
        adv = pgd(model, x, labels, eps, steps=steps, targeted=targeted)
    else:
        raise KeyError(f"unknown attack {method!r}; choose fgsm or pgd")
    with torch.no_grad():
        after = torch.softmax(model(adv), 1)[0]
    return AttackResult(x[0].cpu(), adv[0].cpu(), before.cpu().numpy(), after.cpu().numpy(), label, targeted)
