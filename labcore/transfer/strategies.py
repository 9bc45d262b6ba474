"""The three ways to train a classifier on a small target set, as freezing rules and optimizer groups.

- features: the pretrained backbone is frozen (weights and batch-norm statistics); only a new head learns.
  Its features never change, so they are computed once and the head trains on the cached vectors.
- finetune: the last N blocks of the pretrained backbone learn too, at a lower learning rate than the head
  (big steps would wreck what pre-training found). Gradual unfreezing starts with the head alone and wakes
  one more block per epoch, from the top down.
- scratch: the same architecture from random weights, everything trainable at the head's learning rate.
"""

from __future__ import annotations

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from labcore.transfer.backbones import TransferNet

STRATEGIES = ("features", "finetune", "scratch")


def unfreeze_last(net: TransferNet, n_blocks: int) -> None:
    """Head trainable; of the backbone only its last `n_blocks` blocks (all of it when n >= the block count)."""
    for p in net.backbone.parameters():
        p.requires_grad_(False)
    for block in net.blocks()[len(net.block_names) - n_blocks:] if n_blocks > 0 else []:
        for module in block:
            for p in module.parameters():
                p.requires_grad_(True)
    for p in net.head.parameters():
        p.requires_grad_(True)


def unfreeze_all(net: nn.Module) -> None:
    for p in net.parameters():
        p.requires_grad_(True)


def train_mode(net: nn.Module) -> None:
    """Training mode, except batch norm layers whose weights are frozen: their running statistics stay too."""
    net.train()
    for m in net.modules():
        if isinstance(m, _BatchNorm) and not any(p.requires_grad for p in m.parameters()):
            m.eval()


def param_groups(net: TransferNet, lr: float, backbone_factor: float) -> list[dict]:
    """Two groups: the head at `lr`, the backbone at `lr * backbone_factor`.

    The backbone group holds every backbone weight, frozen or not: a frozen weight gets no gradient, so the
    optimizer skips it, and gradual unfreezing only has to flip `requires_grad`.
    """
    return [{"params": list(net.head.parameters()), "lr": lr, "name": "head"},
            {"params": list(net.backbone.parameters()), "lr": lr * backbone_factor, "name": "backbone"}]


def gradual_blocks(epoch: int, n_blocks: int) -> int:
    """Blocks unfrozen in epoch `epoch` (1-based) under gradual unfreezing: 0, then 1, 2... up to n_blocks."""
    return max(0, min(n_blocks, epoch - 1))


def count_parameters(net: nn.Module) -> tuple[int, int]:
    """(trainable, total)."""
    total = sum(p.numel() for p in net.parameters())
    return sum(p.numel() for p in net.parameters() if p.requires_grad), total
