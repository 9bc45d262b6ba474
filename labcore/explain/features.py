"""Inputs and internals: the quick default model, predictions, uploaded images, feature maps, top losses."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labcore.config import RunConfig
from labcore.data import DataBundle, load_dataset
from labcore.data.images import UPLOAD_MB
from labcore.explain.locking import exclusive
from labcore.i18n import LabError
from labcore.train.trainer import Trainer

# A small CNN on 32x32 shapes: three conv blocks reach ~99 % test accuracy in about 5 s on 2 cores.
QUICK_CONFIG = RunConfig().with_(
    data={"name": "shapes"},
    model={"name": "cnn", "width": 16, "depth": 3},
    optim={"lr": 3e-3},
    train={"epochs": 5, "batch_size": 32, "device": "cpu"},
)
MAX_UPLOAD_BYTES = UPLOAD_MB * 2**20  # the one upload limit (labcore.data.images)
MAX_UPLOAD_PIXELS = 40_000_000  # far below Pillow's own bomb limit: a page needs no more


@contextmanager
def single_thread():
    """Run torch on one thread here: small models gain nothing from more, and on a busy 2-core machine
    competing OpenMP threads made the quick model train ten times slower (70 s instead of 7 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def quick_model(cfg: RunConfig = QUICK_CONFIG) -> tuple[nn.Module, DataBundle]:
    """Train the default explainable model (seeded, so every run gives the same network)."""
    data = load_dataset(cfg.data)
    with single_thread():
        trainer = Trainer(cfg, data)
        trainer.fit()
    trainer.model.eval()
    return trainer.model, data


def float_test_images(data: DataBundle) -> torch.Tensor:
    """The test images as float in [0, 1] (big image sets are stored as bytes)."""
    x = data.x_test
    return x.float() / 255 if x.dtype == torch.uint8 else x.float()


@torch.no_grad()
@exclusive
def predict_proba(model: nn.Module, x: torch.Tensor, batch: int = 512) -> np.ndarray:
    """Class probabilities (N, K) for a batch (N, ...) or one input (...) -> (1, K)."""
    model.eval()
    device = next(model.parameters()).device
    if x.dim() == len(_input_shape(model, x)):  # one input without the batch axis
        x = x.unsqueeze(0)
    out = [torch.softmax(model(x[i : i + batch].float().to(device)), 1).cpu() for i in range(0, len(x), batch)]
    return torch.cat(out).numpy()


def _input_shape(model: nn.Module, x: torch.Tensor) -> tuple[int, ...]:
    # Standardize holds (1, C, 1, 1) statistics for images and (1, F) for flat inputs.
    mean = getattr(getattr(model, "normalize", None), "mean", None)
    return tuple(mean.shape[1:]) if mean is not None else tuple(x.shape[1:])


def image_from_bytes(raw: bytes, shape: tuple[int, ...]) -> torch.Tensor:
    """Decode an uploaded PNG/JPEG into a (C, H, W) tensor in [0, 1] of the model's input shape.

    The same preprocessing as training on your own images (`labcore.data.images.picture_to_input`: centre-crop,
    never stretch). Anything that is not a readable, reasonably sized image raises LabError("explain.bad_image"),
    whose cause is the LabError that says why.
    """
    from labcore.data.images import PHOTO_FORMATS, picture_to_input

    try:
        a = picture_to_input(raw, tuple(shape), formats=PHOTO_FORMATS, max_bytes=MAX_UPLOAD_BYTES,
                             max_pixels=MAX_UPLOAD_PIXELS)
    except LabError as e:
        raise LabError("explain.bad_image") from e
    return torch.from_numpy(a.astype(np.float32) / 255.0)


@exclusive
@torch.no_grad()
def feature_maps(model: nn.Module, image: torch.Tensor) -> list[tuple[str, np.ndarray]]:
    """Output of every Conv2d for one image: [(layer name, (channels, h, w) array)], in forward order."""
    model.eval()
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    found: list[tuple[str, np.ndarray]] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out, name=name: found.append((name, out[0].cpu().numpy())))
             for name, m in convs]
    try:
        model(image.float().unsqueeze(0).to(next(model.parameters()).device))
    finally:
        for h in hooks:
            h.remove()
    return found


@dataclass(frozen=True, eq=False)
class TopLosses:
    """The test examples the model gets most confidently wrong, worst first."""

    index: np.ndarray  # rows of the test set
    loss: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray


@exclusive
def top_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor, k: int = 12) -> TopLosses:
    """The `k` largest cross-entropy losses among misclassified examples (fewer if fewer are wrong)."""
    probs = torch.from_numpy(predict_proba(model, x))
    loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), y.long(), reduction="none").numpy()
    pred = probs.argmax(1).numpy()
    wrong = np.flatnonzero(pred != y.numpy())
    order = wrong[np.argsort(-loss[wrong])][:k]
    return TopLosses(order, loss[order], pred[order], probs.max(1).values.numpy()[order])
