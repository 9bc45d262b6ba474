"""One download for a trained model: state dict, TorchScript, ONNX and metadata.json in a zip, with each
file's size and a round-trip check (the reloaded TorchScript and ONNX files give the live model's outputs).

Pure functions: the page passes the job's model, config, data and outcome; nothing here knows Streamlit.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import io
import json
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata as _pkg
from typing import Any

import numpy as np
import torch
from torch import nn

from labcore.config import RunConfig
from labcore.data import DataBundle
from labcore.i18n import LabError
from labcore.models import SEQUENCE_KINDS, build_model
from labcore.transfer.export import NAMES, export, export_state_dict

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


def build_metadata(cfg: RunConfig, data: DataBundle, outcome: Any, *, metrics: dict[str, float] | None = None,
                   now: _dt.datetime | None = None) -> dict[str, Any]:
    """What the book asks to keep beside the weights: setup, data, test metrics, versions, date and seed.
    `metrics`: the test scores when there is no Train-page outcome (a Sequences contender)."""
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
    if data.info.kind == "series":  # the model reads and forecasts the series on its training scale
        mu, sd = data.extras["scale"]
        meta["dataset"]["input"] = ("windows (N, 1, window) of the series minus mean, over std (scale below); "
                                    "the output is the next values on the same scale")
        meta["dataset"]["scale"] = {"mean": float(mu), "std": float(sd)}
    elif data.info.kind == "tokens":
        meta["dataset"]["input"] = "one-hot tokens (N, vocabulary, length); vocabulary below"
        meta["dataset"]["vocabulary"] = [str(w) for w in data.extras.get("vocab", [])]
    if metrics is not None:
        meta["test_metrics"] = dict(metrics)
    elif outcome is not None and hasattr(outcome, "test_accuracy"):
        meta["test_metrics"] = {"accuracy": float(outcome.test_accuracy), "loss": float(outcome.test_loss),
                                "best_epoch": int(outcome.best_epoch), "restored_best": bool(outcome.restored_best),
                                "test_rows": len(data.y_test)}
    return meta


def example_request(data: DataBundle) -> dict[str, Any]:
    """The first test row as a /predict request body (what the page's test widget starts with)."""
    x = check_inputs(data, 1)[0]
    if data.info.kind == "image":
        return {"pixels": (x[0] if x.shape[0] == 1 else x).tolist()}
    if data.info.kind in SEQUENCE_KINDS:
        return {"sequence": x.tolist()}
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


def assemble(live: nn.Module, x: torch.Tensor, meta: dict[str, Any], input_shape: tuple[int, ...], *,
             reload: Callable[[dict], nn.Module] | None = None, weights: nn.Module | None = None,
             names: tuple[str, str] = NAMES, onnx: dict[str, Any] | None = None,
             extra_files: dict[str, bytes] | None = None) -> Bundle:
    """The bundle of any page's model: export `live` (a CPU module in eval mode, x -> one tensor) in every format,
    reload each file and compare its outputs on `x` with the live model's, and write `meta` as metadata.json
    with the sizes and checks in it. The state dict is `weights`' (default: `live`'s); `reload(state dict)` builds
    a fresh module of the same setup from it, whose outputs must equal the live model's too.

    A format whose exporter fails is left out (its reason in `errors`); the others still go in the zip."""
    exported: dict[str, bytes] = {}
    errors: dict[str, str] = {}
    for fmt in FILES:
        try:
            if fmt == "state_dict" and weights is not None:
                exported[fmt] = export_state_dict(weights)
            else:
                exported[fmt] = export(live, fmt, input_shape, names)
        except Exception as e:  # an exporter that cannot handle some layer: say so, never crash the page
            reason = e.params.get("reason", e) if isinstance(e, LabError) else e
            errors[fmt] = " ".join(str(reason).split())[:200]
    checks = roundtrip(live, exported, x)
    if "state_dict" in exported and reload is not None:  # the weights alone, in a freshly built network
        try:
            fresh = reload(torch.load(io.BytesIO(exported["state_dict"]), weights_only=True)).eval()
            check = Check(float(np.abs(_logits(fresh, x) - _logits(live, x)).max()))
        except Exception as e:
            check = Check(skipped="error", error=" ".join(str(e).split())[:200])
        checks = {"state_dict": check, **checks}
    meta["files"] = {FILES[fmt]: {"format": fmt, "bytes": len(b)} for fmt, b in exported.items()}
    meta["onnx"] = {"input": names[0], "output": names[1], "opset": 17, "dynamic_batch": True, **(onnx or {})}
    meta["roundtrip"] = {fmt: c.to_dict() for fmt, c in checks.items()}
    if errors:
        meta["not_exported"] = dict(errors)
    files = {FILES[fmt]: b for fmt, b in exported.items()}
    files.update(extra_files or {})
    files[METADATA] = json.dumps(meta, indent=2, ensure_ascii=False, default=_plain).encode("utf-8")
    return Bundle(files, meta, checks, errors)


def _plain(value: Any) -> Any:
    """numpy numbers and tuples in a config, as JSON."""
    return value.item() if hasattr(value, "item") else str(value)


def build_bundle(model: nn.Module, cfg: RunConfig, data: DataBundle, outcome: Any = None, *,
                 metrics: dict[str, float] | None = None, extra_files: dict[str, bytes] | None = None,
                 now: _dt.datetime | None = None) -> Bundle:
    """A lab model (labcore.models, Train page or a Sequences contender) with its setup: every format, checked."""
    live = live_copy(model, cfg, data)

    def reload(state: dict) -> nn.Module:
        fresh = build_model(cfg.model, data, seed=cfg.train.seed + 1)
        fresh.load_state_dict(state)
        return fresh

    meta = build_metadata(cfg, data, outcome, metrics=metrics, now=now)
    sequence = data.info.kind in SEQUENCE_KINDS
    names = ("sequence", "output") if sequence else NAMES
    onnx = {"sequence_length": int(data.input_shape[-1])} if sequence else None
    return assemble(live, check_inputs(data), meta, tuple(data.input_shape), reload=reload, names=names, onnx=onnx,
                    extra_files=extra_files)


def contender_bundle(job: Any, index: int, *, now: _dt.datetime | None = None) -> Bundle:
    """One model of a finished comparison (labcore.train.compare.CompareJob: the Sequences and Attention pages)."""
    c = job.contenders[index]
    metrics = {"loss": float(c.test_loss)}
    if not job.data.info.task == "regression":
        metrics["accuracy"] = float(c.test_acc)
    metrics["test_rows"] = len(job.data.y_test)
    return build_bundle(c.trainer.model, job.config.run(index), job.data, metrics=metrics, now=now)


def transfer_bundle(job: Any, *, now: _dt.datetime | None = None) -> Bundle:
    """The best strategy's network of a finished transfer race (labcore.transfer.job.TransferJob), input
    normalisation inside: raw [0, 1] pixels of the target's shape in, logits out."""
    from labcore.transfer.backbones import build_transfer_net

    cfg, data, net = job.config, job.trainer.data, job.trainer.model
    shape = {"in_channels": data.input_shape[0], "num_classes": data.num_classes, "size": cfg.image_size}
    live = build_transfer_net(cfg.backbone, seed=cfg.train.seed, **shape)
    live.load_state_dict({k: v.detach().cpu() for k, v in net.state_dict().items()})
    live.eval()

    def reload(state: dict) -> nn.Module:
        fresh = build_transfer_net(cfg.backbone, seed=cfg.train.seed + 1, **shape)
        fresh.load_state_dict(state)
        return fresh

    now = now or _dt.datetime.now(_dt.UTC)
    meta: dict[str, Any] = {
        "format_version": 1, "created": now.isoformat(timespec="seconds"), "seed": cfg.train.seed,
        "config": dataclasses.asdict(cfg),
        "dataset": {"name": data.name, "kind": data.info.kind, "classes": data.class_names,
                    "input_shape": list(data.input_shape), "input": "raw pixels in [0, 1]"},
        "model": {"backbone": cfg.backbone, "strategy": job.best.strategy if job.best is not None else None},
        "versions": versions(), "example": example_request(data),
    }
    outcome = getattr(job, "outcome", None)
    if outcome is not None:
        meta["test_metrics"] = {"accuracy": float(outcome.test_accuracy), "loss": float(outcome.test_loss),
                                "best_epoch": int(outcome.best_epoch), "test_rows": len(data.y_test)}
    return assemble(live, check_inputs(data), meta, tuple(data.input_shape), reload=reload)


class Reconstruction(nn.Module):
    """An autoencoder as one function, image -> reconstructed image (a VAE decodes its mean): what the files hold."""

    def __init__(self, autoencoder: nn.Module):
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decode(self.autoencoder.encode(x))


def autoencoder_bundle(model: nn.Module, cfg: Any, data: DataBundle, outcome: Any = None, *,
                       now: _dt.datetime | None = None) -> Bundle:
    """An autoencoder of the Autoencoders page (AEConfig): TorchScript and ONNX map raw pixels in [0, 1] to the
    reconstruction; the state dict is the autoencoder's own (encoder.*, decoder.*), for `build_autoencoder`."""
    from labcore.autoencoders.models import build_autoencoder
    from labcore.autoencoders.pca import as_float_images

    def fresh(seed: int) -> nn.Module:
        return build_autoencoder(cfg.model, data.input_shape, cfg.latent_dim, cfg.width, seed=seed)

    ae = fresh(cfg.train.seed)
    ae.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
    ae.eval()

    def reload(state: dict) -> nn.Module:
        again = fresh(cfg.train.seed + 1)
        again.load_state_dict(state)
        return Reconstruction(again)

    now = now or _dt.datetime.now(_dt.UTC)
    meta: dict[str, Any] = {
        "format_version": 1, "created": now.isoformat(timespec="seconds"), "seed": cfg.train.seed,
        "config": cfg.to_dict(),
        "dataset": {"name": data.name, "kind": data.info.kind, "classes": data.class_names,
                    "input_shape": list(data.input_shape), "input": "raw pixels in [0, 1]",
                    "held_out_classes": [data.class_names[c] for c in cfg.holdout]},
        "model": {"autoencoder": cfg.model, "variational": bool(ae.variational), "latent_dim": cfg.latent_dim,
                  "output": "the reconstructed image, pixels in [0, 1] (a VAE decodes its mean)",
                  "state_dict": "build_autoencoder(model, input_shape, latent_dim, width) from labcore.autoencoders"},
        "versions": versions(),
    }
    if outcome is not None:
        meta["test_metrics"] = {"reconstruction_mse": float(outcome.test_recon),
                                "pca_reconstruction_mse": float(outcome.pca_test_recon),
                                "test_rows": len(data.y_test)}
        if outcome.scores.has_both:
            meta["test_metrics"]["anomaly_auc"] = float(outcome.scores.roc()[3])
    x = as_float_images(data.x_test[:CHECK_ROWS]).cpu()
    return assemble(Reconstruction(ae).eval(), x, meta, tuple(data.input_shape), reload=reload, weights=ae,
                    names=("image", "reconstruction"))


def read_metadata(zip_bytes: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        return json.loads(z.read(METADATA).decode("utf-8"))


def race_bundle(job: Any, index: int, *, now: _dt.datetime | None = None) -> Bundle:
    """Contender `index` of a finished optimizer race (labcore.train.race.RaceJob), as trained in the race (its
    lane's weights and statistics), with its test scores measured here and what made it differ in metadata.json."""
    from labcore.data import load_dataset

    cfg, race = job.config, job.race
    solo, c = cfg.solo(index), cfg.contenders[index]
    data = load_dataset(solo.data) if c.raw_inputs and cfg.data.standardize else race.data
    live = live_copy(race.contender_model(index), solo, data)
    y = data.y_test
    with torch.no_grad():  # in chunks: CIFAR-10's 10,000 test pictures at once would take a lot of memory
        out = torch.cat([live(_scaled(data.x_test[i : i + 1024])) for i in range(0, len(y), 1024)])
    metrics = {"accuracy": float((out.argmax(1) == y).float().mean()),
               "loss": float(nn.functional.cross_entropy(out, y.long())), "test_rows": len(y)}

    def reload(state: dict) -> nn.Module:
        fresh = build_model(solo.model, data, seed=solo.train.seed + 1)
        fresh.load_state_dict(state)
        return fresh

    meta = build_metadata(solo, data, None, metrics=metrics, now=now)
    meta["race"] = {"contender": index + 1, "contenders": len(cfg.contenders), "random_labels": c.random_labels,
                    "train_fraction": c.train_fraction, "initial_seed": cfg.seed_of(index),
                    "augment": dataclasses.asdict(c.augment) if c.augment is not None else None,
                    "note": "trained side by side with the other contenders on the same batches"}
    return assemble(live, check_inputs(data), meta, tuple(data.input_shape), reload=reload)


def _scaled(x: torch.Tensor) -> torch.Tensor:
    """Rows as the model takes them (big image sets are kept as bytes), like check_inputs."""
    return x.float() / 255 if x.dtype == torch.uint8 else x.float()
