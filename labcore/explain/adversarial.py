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
from captum.robust import FGSM, PGD
from torch import nn

from labcore.explain.locking import exclusive


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


def _cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    # Per image: captum's own default, -log(output), expects probabilities and our models return logits.
    return F.cross_entropy(logits, labels, reduction="none")


def fgsm(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float, targeted: bool = False) -> torch.Tensor:
    """One signed-gradient step of size `eps` on a batch (N, C, H, W) in [0, 1] (captum's FGSM).

    Untargeted: climb the cross-entropy of `labels` (the current answers); targeted: descend it."""
    model.eval()
    attack = FGSM(model, _cross_entropy, lower_bound=0.0, upper_bound=1.0)
    attack.zero_thresh = 0.0  # a confident model's gradients are tiny, but their sign still points the way
    return attack.perturb(x.detach().requires_grad_(), eps, labels, targeted=targeted).detach()


def pgd(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float, steps: int = 20,
        step_size: float | None = None, targeted: bool = False) -> torch.Tensor:
    """Projected gradient descent in the L-infinity ball of radius `eps` (Madry et al., 2018; captum's PGD)."""
    model.eval()
    step_size = step_size if step_size is not None else 2.5 * eps / steps  # can cross the ball in steps/2.5
    attack = PGD(model, _cross_entropy, lower_bound=0.0, upper_bound=1.0)
    attack.fgsm.zero_thresh = 0.0  # as in fgsm(): keep stepping where the gradient is tiny
    return attack.perturb(
        x.detach().requires_grad_(), radius=eps, step_size=step_size, step_num=steps, target=labels, targeted=targeted).detach()


@exclusive
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
