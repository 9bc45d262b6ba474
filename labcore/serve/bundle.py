"""One download for a trained model: state dict, TorchScript, ONNX and metadata.json in a zip, with each
file's size and a round-trip check (the reloaded TorchScript and ONNX files give the live model's outputs).

Pure functions: the page passes the job's model, config, data and outcome; nothing here knows Streamlit.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from importlib import metadata as _pkg
from typing import Any

import numpy as np
import torch
from torch import nn

from labcore.config import RunConfig
from labcore.data import DataBundle
from labcore.i18n import LabError
from labcore.models import build_model
from labcore.transfer.export import export

TOLERANCE = 1e-4  # largest |difference| of logits a reloaded file may show
CHECK_ROWS = 64  # test rows the round trip compares
FILES = {"state_dict": "state_dict.pt", "torchscript": "model.pt", "onnx": "model.onnx"}
METADATA = "metadata.json"


@dataclass
class Check:
    """A reloaded file against the live model: the largest logit difference, or why it was not checked."""

    max_abs_diff: float | None = None
    skipped: str | None = None  # "onnxruntime" (not installed), "export" (no file) or "error" (it does not run)
    error: str = ""

    @property
    def ok(self) -> bool | None:
        return None if self.max_abs_diff is None else self.max_abs_diff <= TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        return {"max_abs_diff": self.max_abs_diff, "ok": self.ok, "tolerance": TOLERANCE,
                "checked": self.max_abs_diff is not None, "skipped": self.skipped, "error": self.error or None}


@dataclass
class Bundle:
    files: dict[str, bytes]  # file name in the zip -> content
    meta: dict[str, Any]
    checks: dict[str, Check] = field(default_factory=dict)  # format -> round-trip check
    errors: dict[str, str] = field(default_factory=dict)  # format -> why its export failed

    def files_by_format(self) -> dict[str, bytes]:
        return {fmt: self.files[name] for fmt, name in FILES.items() if name in self.files}

    def sizes(self) -> dict[str, int]:
        return {name: len(data) for name, data in self.files.items()}

    def zip_bytes(self) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name, data in self.files.items():
                z.writestr(name, data)
        return buf.getvalue()


def live_copy(model: nn.Module, cfg: RunConfig, data: DataBundle) -> nn.Module:
    """A CPU copy of a trained lab model in eval mode (exporting must not move or switch the job's own model)."""
    copy = build_model(cfg.model, data, seed=0)
    copy.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
    return copy.cpu().eval()


def check_inputs(data: DataBundle, rows: int = CHECK_ROWS) -> torch.Tensor:
    x = data.x_test[:rows].float()
    if data.x_test.dtype == torch.uint8:
        x = x / 255
    return x


def versions() -> dict[str, str]:
    out = {"torch": torch.__version__}
    for name, dist in (("torchvision", "torchvision"), ("lab", "dl-visual-lab"), ("numpy", "numpy")):
        try:
            out[name] = _pkg.version(dist)
        except _pkg.PackageNotFoundError:
            out[name] = "unknown"
    return out


def tabular_scaler(cfg: RunConfig) -> dict[str, list[float]] | None:
    """breast_cancer and wine are standardised with the training rows' statistics before the model sees them:
    the service and any caller must send features on that scale. Their mean and scale, or None."""
    if cfg.data.name not in ("breast_cancer", "wine"):
        return None
    from sklearn import datasets as skd
    from sklearn.preprocessing import StandardScaler

    from labcore.data.bundle import split_arrays

    d = (skd.load_breast_cancer if cfg.data.name == "breast_cancer" else skd.load_wine)()
    (x_train, *_), _, _ = split_arrays(d.data.astype(np.float32), d.target, cfg.data)
    scaler = StandardScaler().fit(x_train)
    return {"mean": [float(v) for v in scaler.mean_], "scale": [float(v) for v in scaler.scale_]}


def build_metadata(cfg: RunConfig, data: DataBundle, outcome: Any, *, now: _dt.datetime | None = None) -> dict[str, Any]:
    """What the book asks to keep beside the weights: setup, data, test metrics, versions, date and seed."""
    now = now or _dt.datetime.now(_dt.UTC)
    meta: dict[str, Any] = {
        "format_version": 1,
        "created": now.isoformat(timespec="seconds"),
        "seed": cfg.train.seed,
        "config": cfg.to_dict(),
        "dataset": {
            "name": data.name, "kind": data.info.kind, "classes": data.class_names,
            "input_shape": list(data.input_shape),
            "input": "raw pixels in [0, 1]" if data.info.kind == "image" else "features as in the lab's table",
            # the model standardises its input itself (its first layer): these are that layer's statistics
            "normalisation": {"inside_model": True, "mean": list(data.mean), "std": list(data.std)},
            "feature_names": [str(n) for n in data.extras.get("feature_names") or []],
        },
        "versions": versions(),
        "example": example_request(data),
    }
    scaler = tabular_scaler(cfg)
    if scaler is not None:  # what turns raw measurements into the features the model takes
        meta["dataset"]["input"] = "features standardised with the training rows' StandardScaler (scaler below)"
        meta["dataset"]["scaler"] = scaler
    if outcome is not None and hasattr(outcome, "test_accuracy"):
        meta["test_metrics"] = {"accuracy": float(outcome.test_accuracy), "loss": float(outcome.test_loss),
                                "best_epoch": int(outcome.best_epoch), "restored_best": bool(outcome.restored_best),
                                "test_rows": len(data.y_test)}
    return meta


def example_request(data: DataBundle) -> dict[str, Any]:
    """The first test row as a /predict request body (what the page's test widget starts with)."""
    x = check_inputs(data, 1)[0]
    if data.info.kind == "image":
        return {"pixels": (x[0] if x.shape[0] == 1 else x).tolist()}
    return {"features": x.tolist()}


def _logits(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(x).detach().cpu().numpy()


def _compare(run, x: torch.Tensor, expected: np.ndarray) -> Check:
    """Largest |difference| of `run`'s outputs from `expected`: on the whole batch, or row by row for a file
    traced on one example that only takes a batch of one (what the service sends it anyway)."""
    try:
        try:
            out = run(x)
        except Exception:
            out = np.concatenate([run(x[i : i + 1]) for i in range(len(x))])
        return Check(float(np.abs(out - expected).max()))
    except Exception as e:  # a file that does not run at all: say so on the page, never crash it
        return Check(skipped="error", error=" ".join(str(e).split())[:200])


def roundtrip(live: nn.Module, files: dict[str, bytes], x: torch.Tensor) -> dict[str, Check]:
    """Reload each exported file and compare its logits on `x` with the live model's."""
    expected = _logits(live, x)
    checks: dict[str, Check] = {}
    if "torchscript" in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated; still the format the book uses
            scripted = torch.jit.load(io.BytesIO(files["torchscript"]), map_location="cpu")
        checks["torchscript"] = _compare(lambda b: _logits(scripted, b), x, expected)
    else:
        checks["torchscript"] = Check(skipped="export")
    if "onnx" not in files:
        checks["onnx"] = Check(skipped="export")
    else:
        try:
            import onnxruntime as ort
        except ImportError:
            checks["onnx"] = Check(skipped="onnxruntime")
        else:
            session = ort.InferenceSession(files["onnx"], providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            checks["onnx"] = _compare(lambda b: session.run(None, {name: b.numpy().astype(np.float32)})[0], x, expected)
    return checks


def build_bundle(model: nn.Module, cfg: RunConfig, data: DataBundle, outcome: Any = None, *,
                 extra_files: dict[str, bytes] | None = None, now: _dt.datetime | None = None) -> Bundle:
    """Export `model` in every format, check the round trip, and write metadata.json (sizes and checks in it).

    A format whose exporter fails is left out (its reason in `errors`); the others still go in the zip."""
    live = live_copy(model, cfg, data)
    exported: dict[str, bytes] = {}
    errors: dict[str, str] = {}
    for fmt in FILES:
        try:
            exported[fmt] = export(live, fmt, data.input_shape)
        except LabError as e:
            errors[fmt] = str(e.params.get("reason", e))
    x = check_inputs(data)
    checks = roundtrip(live, exported, x)
    if "state_dict" in exported:  # the weights alone, loaded into a freshly built network of the same setup
        fresh = build_model(cfg.model, data, seed=cfg.train.seed + 1).eval()
        fresh.load_state_dict(torch.load(io.BytesIO(exported["state_dict"]), weights_only=True))
        checks = {"state_dict": Check(float(np.abs(_logits(fresh, x) - _logits(live, x)).max())), **checks}
    meta = build_metadata(cfg, data, outcome, now=now)
    meta["files"] = {FILES[fmt]: {"format": fmt, "bytes": len(b)} for fmt, b in exported.items()}
    meta["onnx"] = {"input": "image", "output": "logits", "opset": 17, "dynamic_batch": True}
    meta["roundtrip"] = {fmt: c.to_dict() for fmt, c in checks.items()}
    files = {FILES[fmt]: b for fmt, b in exported.items()}
    files.update(extra_files or {})
    files[METADATA] = json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8")
    return Bundle(files, meta, checks, errors)


def read_metadata(zip_bytes: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        return json.loads(z.read(METADATA).decode("utf-8"))
