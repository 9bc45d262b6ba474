"""`AEConfig`: one autoencoder run as a flat dataclass of plain types (JSON, links and tests take it as-is)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from labcore.config import DataConfig, TrainConfig


@dataclass(frozen=True)
class AEConfig:
    data: DataConfig = field(default_factory=DataConfig)
    # `train` carries epochs, batch size, seed, threads and step delay, like every other job's config.
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=30, batch_size=64))
    model: str = "dense"  # a name in AUTOENCODERS: dense, conv, vae, conv_vae
    latent_dim: int = 2  # the bottleneck k; 2 draws the latent space as it is
    width: int = 128  # dense: first hidden layer (then width/2); conv: 8x the first conv's channels
    lr: float = 1e-3  # Adam
    noise: float = 0.0  # denoising: std of the Gaussian noise added to training inputs (targets stay clean)
    beta: float = 1.0  # VAE: weight of the KL term (1: the ELBO of a Gaussian decoder with variance 0.5)
    holdout: tuple[int, ...] = ()  # classes left out of training: the anomalies for anomaly detection

    def with_(self, **changes: Any) -> AEConfig:
        """Copy with fields changed; `data=` and `train=` may be dicts of their fields."""
        for group in ("data", "train"):
            if isinstance(changes.get(group), dict):
                changes[group] = replace(getattr(self, group), **changes[group])
        if "holdout" in changes:
            changes["holdout"] = tuple(sorted({int(c) for c in changes["holdout"]}))
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
