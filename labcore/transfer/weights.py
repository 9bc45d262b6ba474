"""Where a backbone's pretrained weights come from, checked against its architecture before use.

- torchvision networks: ImageNet weights through the weights API. The file is looked for where the API keeps
  it (`$TORCH_HOME/hub/checkpoints/<basename of weights.url>`); if it is missing, one download is tried.
  Offline, a `LabError` explains the two ways forward: upload a weights file, or use the lab's own backbone.
- an uploaded `.pth`: read with `torch.load(weights_only=True)` (no code runs), keys and shapes compared.
  Before torch.load sees it, the file's zip container is inspected: compressed records (torch.save never
  writes them; unpacking them is a memory bomb) and records that claim more bytes than the file holds are
  refused, so reading never takes more memory than the file's own size. Every failure gets the lab's own
  message (`transfer.upload.weights_*`), never PyTorch's (which suggests the unsafe `weights_only=False`).
- the lab's own backbones: a small CNN trained on a built-in source task at first use (a few seconds), then
  kept in memory and on disk under the data directory.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import threading
import zipfile
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn

from labcore.data.online import data_dir
from labcore.i18n import LabError
from labcore.seeding import seeded
from labcore.transfer.backbones import BACKBONES, BackboneSpec, TransferNet, build_transfer_net
from labcore.transfer.targets import source_task
from labcore.transfer.uploads import upload_slot

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


def weights_dirs() -> list[Path]:
    """The folders on the server that the lab reads weights files from: torch's own cache, then the folders in
    `LAB_WEIGHTS_DIR` (os.pathsep-separated), where a teacher can put files too big to upload (VGG-16's is
    528 MB). Pages choose files from these folders by name; no typed path ever reaches the disk."""
    extra = [Path(p).expanduser() for p in os.environ.get("LAB_WEIGHTS_DIR", "").split(os.pathsep) if p.strip()]
    return [Path(torch.hub.get_dir()) / "checkpoints", *extra]


def find_checkpoint(name: str) -> Path | None:
    """This backbone's ImageNet file under its official name in one of `weights_dirs()`, if any."""
    basename = checkpoint_path(name).name
    return next((d / basename for d in weights_dirs() if (d / basename).is_file()), None)


def server_files() -> dict[str, Path]:
    """{name shown: path} of the weights files (.pth, .pt, .bin) in `weights_dirs()`."""
    out: dict[str, Path] = {}
    for d in weights_dirs():
        try:
            files = sorted(p for p in d.iterdir() if p.suffix in (".pth", ".pt", ".bin") and p.is_file())
        except OSError:  # a folder that is not there (yet) or cannot be read
            continue
        for p in files:
            out.setdefault(p.name if p.name not in out else str(p), p)
    return out


def download_help(name: str) -> dict[str, str]:
    """Where the ImageNet file comes from, for messages: its URL, its name, and a one-line command that fetches
    it into the torch cache on a connected machine."""
    url = imagenet_weights(name).url
    arch = BACKBONES.get(name).torchvision
    command = f'python -c "import torchvision; torchvision.models.{arch}(weights=\'DEFAULT\')"'
    return {"url": url, "file": url.rsplit("/", 1)[-1], "command": command}


def weights_status(name: str) -> str:
    """"lab" (built here), "cached" (ImageNet file on the server's disk) or "missing" (needs a download)."""
    if not BACKBONES.get(name).torchvision:
        return "lab"
    return "cached" if find_checkpoint(name) is not None else "missing"


def imagenet_state(name: str) -> dict[str, torch.Tensor]:
    """The ImageNet state dict: from the server's disk (torch cache or LAB_WEIGHTS_DIR), else downloaded once."""
    path = find_checkpoint(name)
    if path is not None:
        return read_state_dict(path.read_bytes())
    try:
        return imagenet_weights(name).get_state_dict(progress=False, check_hash=True)
    except Exception as e:  # URLError, socket errors, HTTP errors, a truncated download...
        raise LabError("transfer.weights_offline", backbone=name, path=str(checkpoint_path(name)),
                       reason=" ".join(str(e).split())[:200], **download_help(name)) from e


# -- reading and checking a weights file ----------------------------------------------------------------------------
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # torch.save's format since PyTorch 1.6 (an empty zip too)
PICKLE_MAGIC = b"\x80"  # the legacy format: pickles, storages read straight from the file


def check_container(raw: bytes) -> None:
    """Refuse, before anything is decompressed, a weights file whose reading could cost more than its size.

    torch.save writes a zip of *stored* (uncompressed) records, so the records' declared sizes add up to less
    than the file. A crafted file with deflated records would make `torch.load` unpack them all: refused. A
    legacy (pre-1.6) file is read by torch straight from the file, so it cannot amplify; it passes.
    """
    if not raw:
        raise LabError("transfer.upload.weights_empty")
    if raw.startswith(PICKLE_MAGIC):
        return
    if not raw.startswith(ZIP_MAGIC):
        raise LabError("transfer.upload.weights_not_torch")
    try:
        infos = zipfile.ZipFile(io.BytesIO(raw)).infolist()  # reads the directory only
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise LabError("transfer.upload.weights_truncated") from e
    if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
        raise LabError("transfer.upload.weights_compressed")
    declared = sum(i.file_size for i in infos)
    if declared > len(raw) or any(i.file_size != i.compress_size for i in infos):
        raise LabError("transfer.upload.weights_declared", mb=declared / 2**20)


def _load_error(e: Exception) -> LabError:
    """The lab's message for what torch.load raised (its own text suggests the unsafe weights_only=False)."""
    text = str(e)
    if isinstance(e, pickle.UnpicklingError):
        unsafe = "Unsupported global" in text or "allowlist" in text or "GLOBAL" in text
        return LabError("transfer.upload.weights_unsafe" if unsafe else "transfer.upload.weights_not_torch")
    if "magic number" in text:  # a pickle, but not one torch.save wrote
        return LabError("transfer.upload.weights_not_torch")
    if isinstance(e, EOFError) or "EOF" in text or "central directory" in text:
        return LabError("transfer.upload.weights_truncated")
    return LabError("transfer.upload.weights_broken")


def _what(obj: object) -> str:
    if isinstance(obj, torch.Tensor):
        return f"a single tensor of shape {tuple(obj.shape)}"
    if isinstance(obj, dict):
        return "a mapping whose values are not all tensors"
    return f"a {type(obj).__name__}"


def read_state_dict(raw: bytes) -> dict[str, torch.Tensor]:
    """A state dict from file bytes: `weights_only=True`, so a file can carry tensors, never code; the container
    is checked first (`check_container`) and every tensor must be finite."""
    check_container(raw)
    try:
        obj = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, zip errors, a refused global...
        raise _load_error(e) from e
    for key in ("state_dict", "model", "model_state_dict"):  # common checkpoint layouts
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if isinstance(obj, dict) and not obj:
        raise LabError("transfer.upload.weights_no_tensors")
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise LabError("transfer.upload.weights_not_state_dict", what=_what(obj))
    bad = [str(k) for k, v in obj.items()
           if (v.is_floating_point() or v.is_complex()) and not bool(torch.isfinite(v).all())]
    if bad:
        raise LabError("transfer.upload.weights_non_finite", n=len(bad), names=", ".join(bad[:3]))
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


def check_weights_file(name: str, raw: bytes, owner: str | None = None) -> dict[str, torch.Tensor]:
    """Read an uploaded weights file and check it fits `name` now, so the page can say so before a run.

    `owner` (the session's id): one upload read at a time per session, as for images (`upload_slot`).
    """
    with upload_slot(owner):
        state = read_state_dict(raw)
        spec: BackboneSpec = BACKBONES.get(name)
        with seeded(0):  # throwaway weights, but never drawn from the global generator unlocked (labcore.seeding)
            backbone, _, _ = spec.build()
        load_backbone_state(backbone, state, name)
        return state
