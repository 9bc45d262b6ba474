"""Where a backbone's pretrained weights come from, checked against its architecture before use.

- torchvision networks: ImageNet weights through the weights API. The file is looked for where the API keeps
  it (`$TORCH_HOME/hub/checkpoints/<basename of weights.url>`); if it is missing, one download is tried.
  Offline, a `LabError` explains the two ways forward: upload a weights file, or use the lab's own backbone.
- an uploaded `.pth`: read with `torch.load(weights_only=True)` (no code runs), keys and shapes compared.
- the lab's own backbones: a small CNN trained on a built-in source task at first use (a few seconds), then
  kept in memory and on disk under the data directory.
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn

from labcore.data.online import data_dir
from labcore.i18n import LabError
from labcore.transfer.backbones import BACKBONES, BackboneSpec, TransferNet, build_transfer_net
from labcore.transfer.targets import source_task

log = logging.getLogger(__name__)

CLASSIFIER_PREFIXES = ("fc.", "classifier.")  # ImageNet heads: dropped, the target gets its own
LAB_VERSION = 2  # bump when the lab backbone or its pretraining changes: old files are then ignored
_LAB_CACHE: dict[str, dict[str, torch.Tensor]] = {}
_LAB_LOCK = threading.Lock()


# -- torchvision ImageNet weights ------------------------------------------------------------------------------------
def imagenet_weights(name: str) -> tvm.WeightsEnum:
    return tvm.get_model_weights(BACKBONES.get(name).torchvision).DEFAULT


def checkpoint_path(name: str) -> Path:
    """Where torchvision's weights API keeps (or would download) this backbone's ImageNet file."""
    url = imagenet_weights(name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def weights_status(name: str) -> str:
    """"lab" (built here), "cached" (ImageNet file on disk) or "missing" (needs a download)."""
    if not BACKBONES.get(name).torchvision:
        return "lab"
    return "cached" if checkpoint_path(name).is_file() else "missing"


def imagenet_state(name: str) -> dict[str, torch.Tensor]:
    """The ImageNet state dict: from the torch cache, else downloaded once into it."""
    path = checkpoint_path(name)
    if path.is_file():
        return read_state_dict(path.read_bytes())
    try:
        return imagenet_weights(name).get_state_dict(progress=False, check_hash=True)
    except Exception as e:  # URLError, socket errors, HTTP errors, a truncated download...
        raise LabError("transfer.weights_offline", backbone=name, path=str(path),
                       reason=" ".join(str(e).split())[:200]) from e


# -- reading and checking a weights file ----------------------------------------------------------------------------
def read_state_dict(raw: bytes) -> dict[str, torch.Tensor]:
    """A state dict from file bytes: `weights_only=True`, so a file can carry tensors, never code."""
    try:
        obj = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, zip errors, a refused global...
        raise LabError("transfer.weights_unreadable", reason=" ".join(str(e).split())[:200]) from e
    for key in ("state_dict", "model", "model_state_dict"):  # common checkpoint layouts
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise LabError("transfer.weights_unreadable", reason="not a state dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in obj.items()}  # saved from DataParallel


def load_backbone_state(backbone: nn.Module, state: dict[str, torch.Tensor], name: str) -> None:
    """Copy `state` into `backbone` after checking every key and shape; the old classifier's keys are ignored."""
    expected = backbone.state_dict()
    given = {k: v for k, v in state.items() if k in expected or not k.startswith(CLASSIFIER_PREFIXES)}
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    shapes = sorted(k for k in set(given) & set(expected) if given[k].shape != expected[k].shape)
    if missing or unexpected or shapes:
        def show(keys: list[str]) -> str:
            return ", ".join(keys[:3]) + (f" (+{len(keys) - 3})" if len(keys) > 3 else "") if keys else "–"

        raise LabError("transfer.weights_mismatch", backbone=name, missing=show(missing),
                       unexpected=show(unexpected), shapes=show(shapes))
    backbone.load_state_dict(given)


# -- the lab's own backbones: pretrained here, on a built-in source task ---------------------------------------------
def _lab_path(name: str) -> Path:
    return data_dir() / "transfer" / f"{name}-v{LAB_VERSION}.pt"


def pretrain_lab(name: str, epochs: int = 8, seed: int = 0) -> dict[str, torch.Tensor]:
    """Train `name`'s small CNN on its source task (a few seconds on one core); returns the backbone's weights."""
    spec: BackboneSpec = BACKBONES.get(name)
    x, y = source_task(spec.source)
    net = build_transfer_net(name, in_channels=x.shape[1], num_classes=int(y.max()) + 1, seed=seed)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), 64):
            idx = order[i : i + 64]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    return {k: v.detach().clone() for k, v in net.backbone.state_dict().items()}


def lab_state(name: str) -> dict[str, torch.Tensor]:
    """The lab backbone's pretrained weights: memory, else disk, else trained now (and saved)."""
    with _LAB_LOCK:  # two jobs asking at once train it once
        if name in _LAB_CACHE:
            return _LAB_CACHE[name]
        path = _lab_path(name)
        state = None
        if path.is_file():
            try:
                state = read_state_dict(path.read_bytes())
                load_backbone_state(BACKBONES.get(name).build()[0], state, name)  # still this architecture?
            except LabError:
                log.warning("ignoring unusable %s; pretraining again", path)
                state = None
        if state is None:
            state = pretrain_lab(name)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                torch.save(state, path)
            except OSError as e:  # a read-only data folder only costs a few seconds next time
                log.warning("could not cache %s: %s", path, e)
        _LAB_CACHE[name] = state
        return state


# -- all together ----------------------------------------------------------------------------------------------------
def pretrained_state(name: str, user_state: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The backbone weights a run starts from: an uploaded file's, else the lab's or ImageNet's."""
    if user_state is not None:
        return user_state
    return lab_state(name) if not BACKBONES.get(name).torchvision else imagenet_state(name)


def pretrained_net(name: str, *, in_channels: int, num_classes: int, size: int = 0, seed: int = 0,
                   user_state: dict[str, torch.Tensor] | None = None) -> TransferNet:
    """Backbone `name` with pretrained weights and a new (seeded) head for the target classes."""
    net = build_transfer_net(name, in_channels=in_channels, num_classes=num_classes, size=size, seed=seed)
    load_backbone_state(net.backbone, pretrained_state(name, user_state), name)
    return net


def check_weights_file(name: str, raw: bytes) -> dict[str, torch.Tensor]:
    """Read an uploaded weights file and check it fits `name` now, so the page can say so before a run."""
    state = read_state_dict(raw)
    spec: BackboneSpec = BACKBONES.get(name)
    backbone, _, _ = spec.build()
    load_backbone_state(backbone, state, name)
    return state
