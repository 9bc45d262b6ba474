"""Run settings as flat dataclasses of plain types: they go to JSON, CLI flags and URL parameters as-is."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class DataConfig:
    name: str = "digits"
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    n_samples: int = 0  # 0: the dataset's own default size
    noise: float = -1.0  # < 0: the dataset's own default noise (toys and shapes only)
    image_size: int = 32  # shapes only: 32 or 64
    seq_len: int = 0  # sequences: time steps per example (forecasting: the input window); 0: the dataset's default
    horizon: int = 1  # forecasting: how many steps ahead the model predicts
    # Standardise inputs with training statistics (tabular features in the loader, every input in the model's
    # first layer). False: raw values, as loaded (the Training tricks page's input-scaling comparison).
    standardize: bool = True


@dataclass(frozen=True)
class ModelConfig:
    name: str = "cnn"
    depth: int = 2  # MLP: hidden layers; CNN: conv blocks; ResNet: residual blocks per stage
    width: int = 32  # MLP: units per layer; CNN/ResNet: channels of the first block
    activation: str = "relu"
    init: str = "default"
    batch_norm: bool = True
    # MLP/CNN: normalise each example over its own features instead (LayerNorm; GroupNorm(1, C) in a CNN).
    # Takes the place of batch norm when both are on; off by default, so older links and runs stay the same.
    layer_norm: bool = False
    dropout: float = 0.0
    kernel_size: int = 3
    pooling: str = "max"
    bidirectional: bool = False  # recurrent models: read the sequence both ways
    heads: int = 2  # transformers: attention heads per layer
    patch_size: int = 0  # vision transformer: patch side in pixels; 0: a quarter of the image side
    positions: str = "learned"  # sequence transformer: "learned", "sinusoidal" or "none" (a bag of words)


@dataclass(frozen=True)
class OptimConfig:
    name: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    alpha: float = 0.99  # RMSProp smoothing constant
    eps: float = 1e-8
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    step_epochs: int = 5  # step schedule: multiply by gamma every this many epochs
    gamma: float = 0.5  # step schedule factor; exponential uses it per epoch
    clip_norm: float = 0.0  # 0: no gradient clipping


@dataclass(frozen=True)
class AugmentConfig:
    hflip: bool = False
    rotation: float = 0.0  # degrees, +-
    crop_scale: float = 1.0  # random resized crop keeps at least this share of the area; 1: off
    color_jitter: float = 0.0  # brightness/contrast/saturation strength
    noise_std: float = 0.0  # Gaussian noise on [0,1] pixels

    @property
    def active(self) -> bool:
        return bool(self.hflip or self.rotation or self.crop_scale < 1 or self.color_jitter or self.noise_std)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    seed: int = 0
    patience: int = 0  # early stopping on val loss; 0: off
    restore_best: bool = False  # at the end, go back to the epoch with the lowest val loss (early stopping always does)
    amp: bool = False  # mixed precision (CUDA only)
    device: str = "auto"
    num_threads: int = 0  # torch intra-op threads in the training thread; 0: all cores
    step_delay: float = 0.0  # seconds to sleep per step: slows a run down for demos and tests
    inspect: bool = True  # Train page jobs: per-layer summaries on a few steps a second (labcore.train.inspector)


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, dict[str, Any]]) -> RunConfig:
        parts = {f.name: f.type for f in fields(cls)}
        kinds = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig,
                 "augment": AugmentConfig, "train": TrainConfig}
        assert set(parts) == set(kinds)
        return cls(**{name: _build(kind, d.get(name, {})) for name, kind in kinds.items()})

    def with_(self, **groups: dict[str, Any]) -> RunConfig:
        """Copy with some fields changed: `cfg.with_(optim={"lr": 0.1})`. Naming another optimizer starts
        from that optimizer's own defaults (as on the page and the command line), then applies the rest."""
        changed = {}
        for g, v in groups.items():
            part = getattr(self, g)
            if g == "optim" and v.get("name", part.name) != part.name:
                from labcore.train.optimizers import optimizer_config  # the registry imports this module

                changed[g] = optimizer_config(v["name"], **{k: x for k, x in v.items() if k != "name"})
            else:
                changed[g] = replace(part, **v)
        return replace(self, **changed)


def _build(kind: type, values: dict[str, Any]) -> Any:
    known = {f.name for f in fields(kind)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown {kind.__name__} fields {sorted(unknown)}; known: {sorted(known)}")
    return kind(**values)
