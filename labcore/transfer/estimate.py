"""How long a transfer race will take, said before Start (issue 19 item 9: MobileNetV3 at 64 px, 40 images and
30 epochs ran for ten minutes with no warning).

The estimate times the real network on this machine: one training step and one evaluation pass on a few
images, per image, then counts the images each strategy sees. It runs with one torch thread, as a training job
does on a busy 2-core machine (labcore.engine.spare_threads); with more cores to spare a run is faster.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from labcore.transfer.backbones import build_transfer_net

PROBE = 16  # at most this many images per timed batch: per-image costs fall with the batch (4 images: 2-3x too
# high), and 16 keeps VGG-16 at 224 px to a few seconds on one core, once per setup (the page caches it)


@dataclass(frozen=True)
class StepCost:
    """Seconds per image on this machine: one training step (forward, backward, Adam) and one forward pass."""

    train: float
    forward: float


def measure(backbone: str, *, in_channels: int, num_classes: int, size: int = 0, batch: int = PROBE) -> StepCost:
    """Time `backbone` on random images in batches like the run's (the second of two steps: the first pays for
    allocation)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        net = build_transfer_net(backbone, in_channels=in_channels, num_classes=num_classes, size=size, seed=0)
        side = 8 if size == 0 else size  # the wrapper resizes to the backbone's own size anyway
        n = max(2, min(batch, PROBE))
        x = torch.rand(n, in_channels, side, side)
        y = torch.arange(n) % num_classes
        opt = torch.optim.Adam(net.parameters(), 1e-4)
        net.train()
        for _ in range(2):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            opt.step()
            train = time.perf_counter() - t0
        net.eval()
        with torch.no_grad():
            net(x)
            t0 = time.perf_counter()
            net(x)
            forward = time.perf_counter() - t0
    finally:
        torch.set_num_threads(previous)
    return StepCost(train / n, forward / n)


def race_seconds(cost: StepCost, strategies: tuple[str, ...], epochs: int, sizes: dict[str, int]) -> float:
    """Seconds for the race: the strategies that train the backbone (fine-tuning, from scratch) pay a training
    step per image per epoch; feature extraction runs the backbone once over every image and then trains only
    its head (almost free); every strategy evaluates the validation images each epoch and the test images once."""
    n_train, n_val, n_test = sizes["train"], sizes["val"], sizes["test"]
    full = sum(s in ("finetune", "scratch") for s in strategies)
    seconds = epochs * (n_train * cost.train * full + n_val * cost.forward * full)
    if "features" in strategies:
        seconds += (n_train + n_val + n_test) * cost.forward
    return seconds + n_test * cost.forward * full
