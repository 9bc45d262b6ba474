"""The two judgements every training loop in the lab makes, written once: has this run blown up, and which
weights are the best so far. The Trainer, the batched race, the transfer race and the autoencoder trainer
all ask these, so a run diverges (and its best epoch is chosen) by the same rule on every page."""

from __future__ import annotations

import math

import torch
from torch import nn

DIVERGENCE_FACTOR = 50.0  # a loss this many times above the first one (or above 1) means the run blew up


def has_diverged(loss: float, first_loss: float | None, grad_norm: float = 0.0) -> bool:
    """A non-finite loss or gradient norm, or a loss `DIVERGENCE_FACTOR` times the first one (at least 1)."""
    if not (math.isfinite(loss) and math.isfinite(grad_norm)):
        return True
    return loss > DIVERGENCE_FACTOR * max(first_loss if first_loss is not None else loss, 1.0)


class BestWeights:
    """The weights of the epoch with the lowest validation loss so far (the earlier epoch on a tie)."""

    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] | None = None
        self.epoch, self.val_loss = 0, math.inf

    def offer(self, model: nn.Module, epoch: int, val_loss: float) -> bool:
        """Keep `model`'s weights if this epoch is the best so far; True when it is."""
        if not val_loss < self.val_loss:  # NaN never wins
            return False
        self.epoch, self.val_loss = epoch, val_loss
        # A clone per tensor: several times cheaper than deepcopy of the state dict, the same result.
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return True

    def restore(self, model: nn.Module) -> bool:
        """Put the best weights back into `model`; False when no epoch ended yet."""
        if self.state is None:
            return False
        model.load_state_dict(self.state)
        return True
