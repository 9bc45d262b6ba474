"""Two tiny fully-convolutional and convolutional nets for 32×32 shapes."""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class TinyUNet(nn.Module):
    """A U-Net with two downsamplings and two upsamplings: 32 → 16 → 8 → 16 → 32. With `skips` each decoder
    level also sees the encoder's features of the same size (concatenated), the U-Net's shortcut for sharp edges;
    without them the decoder rebuilds the mask from the 8×8 bottleneck alone. One logit per pixel per class."""

    def __init__(self, width: int = 8, out: int = 1, skips: bool = True):
        super().__init__()
        w, self.skips = width, skips
        self.enc1, self.enc2, self.bottom = _block(3, w), _block(w, 2 * w), _block(2 * w, 4 * w)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
        self.dec2 = _block(4 * w if skips else 2 * w, 2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec1 = _block(2 * w if skips else w, w)
        self.head = nn.Conv2d(w, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.up2(b)
        d2 = self.dec2(torch.cat([d2, e2], 1) if self.skips else d2)
        d1 = self.up1(d2)
        d1 = self.dec1(torch.cat([d1, e1], 1) if self.skips else d1)
        return self.head(d1)


class TinyDetector(nn.Module):
    """A small CNN with two heads on the same features: class scores (which shape) and a box (x0, y0, x1, y1
    as fractions of the image, through a sigmoid). The features are flattened, not pooled away, so the box head
    still knows where things are."""

    def __init__(self, width: int = 8, classes: int = 4, size: int = 32):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(4 * w * (size // 8) ** 2, 64), nn.ReLU())
        self.classes = nn.Linear(64, classes)
        self.box = nn.Linear(64, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.classes(h), torch.sigmoid(self.box(h))
