"""The augmentation pitfall of the Training tricks page's "rotation" comparison (issue 12): a digits CNN trained
with rotations of up to ±180° against one trained with up to ±15°, then probed. Each model sees every test six (or
nine) turned from 0° to 360°, and the mean probabilities it gives "6" and "9" are drawn against the angle; on the
unturned test set, how many sixes and nines each one takes for the other.

Measured on the built-in digits (seeds 0-2, 10 epochs, means over the test sixes): the ±15° model gives upright sixes
P(6) ≈ 0.95-0.97 and sixes turned by 180° P(9) ≈ 0.63-0.86 (an upside-down six is a nine); the ±180° model's P(6)
moves by only 0.28-0.31 over all angles (the ±15° one's by 0.96-0.98), and it mistakes 4-10 of the 54 test sixes and
nines for each other where the ±15° model mistakes none.
The turn is torchvision's `rotate` with nearest-neighbour sampling, as the training augmentation
(labcore.train.augment) turns the digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torchvision.transforms.v2 import functional as F

from labcore.data import DataBundle
from labcore.i18n import t

DIGITS = (6, 9)
ANGLES = tuple(range(0, 361, 10))
CONFUSED = 1  # six-nine mix-ups on the test set the ±180° model must make beyond the other's to count as confused


@dataclass(frozen=True)
class RotationProbe:
    digit: int  # the test examples turned: the sixes or the nines
    count: int  # how many of them
    angles: np.ndarray  # degrees, counter-clockwise
    p6: np.ndarray  # (models, angles): mean probability of "6" over the turned examples
    p9: np.ndarray
    six_as_nine: list[int]  # per model, on the unturned test set
    nine_as_six: list[int]
    sixes: int
    nines: int

    def mixups(self, i: int) -> int:
        return self.six_as_nine[i] + self.nine_as_six[i]


def rotate(images: torch.Tensor, angle: float) -> torch.Tensor:
    """(N, C, H, W) images turned by `angle` degrees about their centre (corners filled with 0, the background)."""
    return F.rotate(images, float(angle))


def _class(data: DataBundle, digit: int) -> int:
    return data.class_names.index(str(digit))


@torch.no_grad()
def probe(models: Sequence[nn.Module], data: DataBundle, digit: int = 6,
          angles: Sequence[int] = ANGLES) -> RotationProbe:
    six, nine = _class(data, 6), _class(data, 9)
    x, y = data.x_test.float(), data.y_test
    chosen = x[y == _class(data, digit)]
    p6, p9, six_as_nine, nine_as_six = [], [], [], []
    for model in models:
        model.eval()
        probs = torch.stack([model(rotate(chosen, a)).softmax(1).mean(0) for a in angles])  # (angles, classes)
        p6.append(probs[:, six].numpy())
        p9.append(probs[:, nine].numpy())
        pred = model(x).argmax(1)
        six_as_nine.append(int(((y == six) & (pred == nine)).sum()))
        nine_as_six.append(int(((y == nine) & (pred == six)).sum()))
    return RotationProbe(digit, len(chosen), np.array(angles, dtype=float), np.stack(p6), np.stack(p9), six_as_nine,
                         nine_as_six, int((y == six).sum()), int((y == nine).sum()))


def swing(p: RotationProbe, i: int) -> float:
    """How much model i's probability of the turned digit's own class moves as it turns: max - min over the angles."""
    own = p.p6[i] if p.digit == 6 else p.p9[i]
    return float(own.max() - own.min())


def at(p: RotationProbe, angle: float) -> int:
    """The index of the probed angle closest to `angle`."""
    return int(np.abs(p.angles - angle).argmin())


def verdict(p: RotationProbe, degrees: Sequence[float], lang: str = "en") -> str:
    """Model 0 trained with rotations of up to ±degrees[0] (the full turn), model 1 with up to ±degrees[1]: their
    six-nine mix-ups and how their answers move as the digits turn."""
    names = [t("tricks.rot.model", lang, deg=f"{d:g}") for d in degrees]
    other = 9 if p.digit == 6 else 6
    upright, upside = at(p, 0), at(p, 180)

    def probs(i: int, k: int) -> dict[str, str]:
        own, theirs = (p.p6[i], p.p9[i]) if p.digit == 6 else (p.p9[i], p.p6[i])
        return {"own": f"{own[k]:.2f}", "other_p": f"{theirs[k]:.2f}"}

    mixups = t("tricks.rot.verdict_mixups", lang, full=names[0], small=names[1], n_full=p.mixups(0), n_small=p.mixups(1),
               total=p.sixes + p.nines, six_nine=p.six_as_nine[0], nine_six=p.nine_as_six[0])
    turned = t("tricks.rot.verdict_turned", lang, who=names[1], digit=p.digit, other=other,
               up=probs(1, upright)["own"], down=probs(1, upside)["other_p"])
    flat = t("tricks.rot.verdict_flat", lang, who=names[0], digit=p.digit, other=other, up=probs(0, upright)["own"],
             up_other=probs(0, upright)["other_p"], swing=f"{swing(p, 0):.2f}", swing_small=f"{swing(p, 1):.2f}")
    key = "tricks.rot.verdict_confused" if p.mixups(0) >= p.mixups(1) + CONFUSED else "tricks.rot.verdict_not_confused"
    return " ".join([mixups, turned, flat, t(key, lang, who=names[0])])
