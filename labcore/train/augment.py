"""On-the-fly augmentations with torchvision transforms v2, applied per sample to a training batch.

v2 transforms draw one set of random parameters per call, so a whole batch would share one rotation;
calling them per image gives every sample its own draw (cheap at these image sizes).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torchvision.transforms import v2

from labcore.config import AugmentConfig
from labcore.seeding import PrivateRNG


def build_augment(cfg: AugmentConfig, input_shape: tuple[int, ...],
                  seed: int = 0) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A batch -> batch function, or None when nothing is switched on. Non-images only get noise.

    Its random numbers are its own (labcore.seeding): noise comes from a generator of its own, and the
    torchvision transforms, which can only draw from torch's global generator, run inside a private state.
    So the same seed gives the same batches whatever other threads draw meanwhile."""
    if not cfg.active:
        return None
    is_image = len(input_shape) == 3
    steps: list[v2.Transform] = []
    if is_image:
        size = input_shape[-2:]
        if cfg.crop_scale < 1:
            steps.append(v2.RandomResizedCrop(size, scale=(cfg.crop_scale, 1.0), antialias=True))
        if cfg.hflip:
            steps.append(v2.RandomHorizontalFlip())
        if cfg.rotation:
            steps.append(v2.RandomRotation(cfg.rotation))
        if cfg.color_jitter:
            j = cfg.color_jitter
            # Saturation and hue only mean something for colour images.
            steps.append(v2.ColorJitter(brightness=j, contrast=j) if input_shape[0] == 1
                         else v2.ColorJitter(brightness=j, contrast=j, saturation=j, hue=min(0.5, j / 4)))
    per_sample = v2.Compose(steps) if steps else None
    noise = cfg.noise_std
    private = PrivateRNG(seed)
    noise_gen = torch.Generator().manual_seed(seed + 1)  # on the CPU: the same numbers on every device

    def augment(x: torch.Tensor) -> torch.Tensor:
        if per_sample is not None:
            with private.active():
                x = torch.stack([per_sample(img) for img in x])
        if noise:
            x = x + noise * torch.randn(x.shape, generator=noise_gen, dtype=x.dtype).to(x.device)
            x = x.clamp(0, 1) if is_image else x
        return x

    return augment


def augment_preview(images: torch.Tensor, cfg: AugmentConfig, variants: int = 5, seed: int = 0) -> np.ndarray:
    """Rows of [original, variant 1..n] for a few images: (len(images) * (variants + 1), C, H, W)."""
    fn = build_augment(cfg, tuple(images.shape[1:]), seed=seed)
    rows = []
    for img in images.float():
        batch = img.expand(variants, *img.shape).clone()
        rows += [img[None], fn(batch) if fn else batch]
    return torch.cat(rows).clamp(0, 1).numpy()
