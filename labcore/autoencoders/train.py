"""Training an autoencoder: `AETrainer` (the loop: mean squared error, plus the KL term for a VAE) and
`AutoencoderJob` (the loop in a background thread with pause/stop, live latent snapshots for the
scatter, a PCA baseline fitted first, and reconstruction-error anomaly scores at the end).

Epoch rows in the `MetricLog`: epoch, loss, recon, kl, val_loss, val_recon, val_kl, seconds. `recon` is
the mean squared error per pixel; `kl` is in nats per image; loss = recon + beta * kl / pixels. With
beta = 1 that is the negative ELBO per pixel (up to a constant) for a Gaussian decoder of variance 0.5,
since -log N(x; x_hat, s^2) = (x - x_hat)^2 / (2 s^2) + const; a smaller beta assumes less pixel noise.
For a plain autoencoder kl is 0 and loss = recon.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from labcore.autoencoders.anomaly import AnomalyScores, auc
from labcore.autoencoders.config import AEConfig
from labcore.autoencoders.latent import LatentView, latent_view, reconstruct
from labcore.autoencoders.models import build_autoencoder, kl_divergence, reconstruction_error
from labcore.autoencoders.pca import PCABaseline, as_float_images, fit_pca
from labcore.config import OptimConfig
from labcore.data import DataBundle, load_dataset
from labcore.i18n import LabError
from labcore.train.job import TrainingJob, _Control
from labcore.train.log import MetricLog
from labcore.train.optimizers import build_optimizer
from labcore.train.rules import has_diverged
from labcore.train.trainer import Callback, Diverged, check_hooks, pick_device

DISPLAY_POINTS = 1000  # images whose codes the live scatter shows
SNAPSHOT_EVERY_S = 0.25  # the page polls twice a second; more snapshots would never be seen


def corrupt(x: torch.Tensor, std: float, generator: torch.Generator | None = None, *,
            seed: int | None = None) -> torch.Tensor:
    """Denoising input: Gaussian noise of `std` on [0, 1] pixels, clipped back into [0, 1] (`seed`: repeatable)."""
    if std <= 0:
        return x
    if seed is not None:
        generator = torch.Generator(x.device).manual_seed(seed)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + std * noise).clamp(0, 1)


def _keep(y: torch.Tensor, holdout: Sequence[int]) -> torch.Tensor:
    return ~torch.isin(y, torch.tensor(list(holdout), dtype=y.dtype)) if holdout else torch.ones_like(y, dtype=torch.bool)


class AETrainer:
    """Epochs of shuffled batches of the training images (minus held-out classes); five callback hooks."""

    def __init__(self, cfg: AEConfig, data: DataBundle, *, callbacks: Sequence[Callback] = ()):
        self.cfg, self.data = cfg, data
        self.device = pick_device(cfg.train.device)
        if len(set(cfg.holdout)) >= data.num_classes:
            raise LabError("autoencoders.all_held_out")
        keep_train, keep_val = _keep(data.y_train, cfg.holdout), _keep(data.y_val, cfg.holdout)
        self.train_x = as_float_images(data.x_train[keep_train]).to(self.device)
        self.val_x = as_float_images(data.x_val[keep_val]).to(self.device)
        model = build_autoencoder(cfg.model, data.input_shape, cfg.latent_dim, cfg.width, seed=cfg.train.seed)
        self.model = model.to(self.device)
        self.optimizer = build_optimizer(self.model.parameters(), OptimConfig(name="adam", lr=cfg.lr))
        n = len(self.train_x)
        self.batch_size = max(1, min(cfg.train.batch_size, n))
        self.steps_per_epoch = math.ceil(n / self.batch_size)
        self.total_steps = self.steps_per_epoch * cfg.train.epochs
        self.pixels = math.prod(data.input_shape)
        # Separate seeded streams: batch order, training noise (denoising and the VAE's samples), and one
        # fixed noisy copy of the validation images so their curve measures the model, not the dice.
        self.order_gen = torch.Generator().manual_seed(cfg.train.seed)
        self.noise_gen = torch.Generator(self.device).manual_seed(cfg.train.seed + 1)
        val_gen = torch.Generator(self.device).manual_seed(cfg.train.seed + 2)
        self.val_input = corrupt(self.val_x, cfg.noise, val_gen)
        self.callbacks = list(callbacks)
        check_hooks(self.callbacks)
        self.log = MetricLog()
        self._first_loss: float | None = None  # for the divergence rule (labcore.train.rules)
        self.should_stop = False
        self.step = self.epoch = 0

    def losses(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss, mean squared error per pixel, KL per image), each averaged over the batch."""
        out = self.model(x, generator=self.noise_gen)
        recon = reconstruction_error(out.recon, target).mean()
        kl = kl_divergence(out.mu, out.logvar).mean() if out.mu is not None else torch.zeros((), device=x.device)
        return recon + self.cfg.beta * kl / self.pixels, recon, kl

    def fit(self) -> None:
        self._start = time.perf_counter()
        self._call("on_fit_start", {})
        n = len(self.train_x)
        for epoch in range(1, self.cfg.train.epochs + 1):
            self.epoch = epoch
            self._call("on_epoch_start", {"epoch": self.epoch})
            self.model.train()
            t0, sums, seen = time.perf_counter(), torch.zeros(3, device=self.device), 0
            order = torch.randperm(n, generator=self.order_gen).to(self.device)
            for i in range(0, n, self.batch_size):
                target = self.train_x[order[i : i + self.batch_size]]
                self.optimizer.zero_grad(set_to_none=True)
                loss, recon, kl = self.losses(corrupt(target, self.cfg.noise, self.noise_gen), target)
                loss.backward()
                self.optimizer.step()
                self.step += 1
                value = loss.item()
                if has_diverged(value, self._first_loss):
                    raise Diverged(self.step, value)
                self._first_loss = value if self._first_loss is None else self._first_loss
                sums += torch.stack([loss.detach(), recon.detach(), kl.detach()]) * len(target)
                seen += len(target)
                row = {"step": self.step, "epoch": self.epoch - 1 + (i + len(target)) / n, "loss": value,
                       "time": time.perf_counter() - self._start}
                self.log.add_steps([row])
                self._call("on_batch_end", row)
                if self.should_stop:
                    break
            loss, recon, kl = (sums / max(seen, 1)).tolist()
            seconds = time.perf_counter() - t0
            val = self.evaluate(self.val_input, self.val_x)
            row = {"epoch": self.epoch, "step": self.step, "loss": loss, "recon": recon, "kl": kl,
                   "val_loss": val["loss"], "val_recon": val["recon"], "val_kl": val["kl"], "seconds": seconds,
                   "samples_per_s": seen / max(seconds, 1e-9)}
            self.log.add_epoch(row)
            self._call("on_epoch_end", row)
            if self.should_stop:
                break
        self._call("on_fit_end", {})

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, target: torch.Tensor | None = None, batch: int = 2048) -> dict[str, float]:
        """Mean loss, reconstruction error and KL on held-out images (evaluation mode: a VAE decodes its means)."""
        target = x if target is None else target
        self.model.eval()
        totals = torch.zeros(3, device=self.device)
        for i in range(0, len(x), batch):
            xb, tb = x[i : i + batch].to(self.device), target[i : i + batch].to(self.device)
            mu, logvar = self.model.posterior(xb) if self.model.variational else (None, None)
            recon = reconstruction_error(self.model.decode(mu) if mu is not None else self.model(xb).recon, tb)
            kl = kl_divergence(mu, logvar) if mu is not None else torch.zeros_like(recon)
            totals += torch.stack([(recon + self.cfg.beta * kl / self.pixels).sum(), recon.sum(), kl.sum()])
        self.model.train()
        loss, recon, kl = (totals / max(len(x), 1)).tolist()
        return {"loss": loss, "recon": recon, "kl": kl}

    def set_base_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _call(self, hook: str, logs: dict) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, logs)


class _Snapshots(Callback):
    """Freeze the latent picture of a fixed set of images, at most every `SNAPSHOT_EVERY_S` and at the end."""

    def __init__(self, job: AutoencoderJob, x: torch.Tensor, y: torch.Tensor):
        self.job, self.x, self.y, self.last = job, x, y, -math.inf

    def take(self, trainer: AETrainer, epoch: float) -> None:
        view = latent_view(trainer.model, self.x, self.y, epoch)
        with self.job._lock:
            self.job.latent = view
        self.last = time.perf_counter()

    def on_fit_start(self, trainer: AETrainer, logs: dict) -> None:
        self.take(trainer, 0.0)

    def on_batch_end(self, trainer: AETrainer, logs: dict) -> None:
        if time.perf_counter() - self.last > 4 * SNAPSHOT_EVERY_S:  # long epochs (MNIST) move mid-epoch too
            self.take(trainer, logs["epoch"])

    def on_epoch_end(self, trainer: AETrainer, logs: dict) -> None:
        if time.perf_counter() - self.last > SNAPSHOT_EVERY_S:
            self.take(trainer, logs["epoch"])

    def on_fit_end(self, trainer: AETrainer, logs: dict) -> None:
        self.take(trainer, trainer.epoch)


@dataclass(frozen=True)
class AEOutcome:
    """What a finished (or stopped) run leaves for the result panels; errors on clean test images."""

    test_recon: float  # mean squared error on test images of the trained classes
    pca_test_recon: float  # the same for PCA with k components
    scores: AnomalyScores  # per test image; anomalies are the held-out classes (none when nothing is held out)
    pca_errors: np.ndarray  # PCA's reconstruction error per test image: the linear baseline's anomaly score

    @property
    def pca_auc(self) -> float:
        return auc(self.pca_errors, self.scores.is_anomaly)

    @property
    def pca_scores(self) -> AnomalyScores:
        return AnomalyScores(self.pca_errors, self.scores.is_anomaly, np.zeros(0))


class AutoencoderJob(TrainingJob):
    """An `AETrainer` in a background thread: pause, resume and stop act between batches, as for a TrainingJob."""

    kind = "autoencoder"

    def __init__(self, cfg: AEConfig, owner: str | None = None, threads: int = 0):
        super().__init__(cfg, owner, threads)  # reads only cfg.train, which an AEConfig has too
        self.latent: LatentView | None = None
        self.pca: PCABaseline | None = None
        self.pca_val_recon: float | None = None
        self.display: tuple[torch.Tensor, torch.Tensor] | None = None  # the scatter's images and labels
        self.outcome: AEOutcome | None = None

    def latest(self) -> LatentView | None:
        with self._lock:
            return self.latent

    def _work(self) -> None:
        cfg = self.config
        data = load_dataset(cfg.data)
        if data.info.kind != "image":
            raise LabError("autoencoders.images_only", name=data.name)
        self.display = display_set(data)
        trainer = AETrainer(cfg, data, callbacks=[_Control(self), _Snapshots(self, *self.display)])
        # The linear baseline first: its error is the dashed line the autoencoder's curve should cross.
        self.pca = fit_pca(trainer.train_x.cpu(), cfg.latent_dim, seed=cfg.train.seed)
        self.pca_val_recon = float(self.pca.errors(trainer.val_input.cpu(), trainer.val_x.cpu()).mean())
        self.trainer = trainer
        try:
            trainer.fit()
        except Diverged as e:
            self._end("diverged", LabError("train.diverged", step=e.step, lr=cfg.lr))
            return
        self.outcome = self._evaluate(trainer)
        self._end("stopped" if self._stop.is_set() else "finished")

    def _evaluate(self, trainer: AETrainer) -> AEOutcome:
        data, cfg = trainer.data, self.config
        x_test, y_test = as_float_images(data.x_test), data.y_test.numpy()
        errors = image_errors(trainer.model, x_test)
        pca_errors = self.pca.errors(x_test)
        is_anomaly = np.isin(y_test, cfg.holdout)
        normal_val = image_errors(trainer.model, trainer.val_x)
        return AEOutcome(float(errors[~is_anomaly].mean()), float(pca_errors[~is_anomaly].mean()),
                         AnomalyScores(errors, is_anomaly, normal_val), pca_errors)


def display_set(data: DataBundle, n: int = DISPLAY_POINTS) -> tuple[torch.Tensor, torch.Tensor]:
    """Validation then test images (never trained on, every class): the points of the latent scatter."""
    x = torch.cat([as_float_images(data.x_val), as_float_images(data.x_test)])[:n]
    return x, torch.cat([data.y_val, data.y_test])[:n]


def image_errors(model, x: torch.Tensor) -> np.ndarray:
    """Per-image mean squared reconstruction error of clean images (evaluation mode)."""
    recon = reconstruct(model, x)
    return ((recon - as_float_images(x).cpu().numpy()) ** 2).reshape(len(x), -1).mean(axis=1)


def train_autoencoder(cfg: AEConfig, data: DataBundle | None = None) -> AETrainer:
    """Train in the calling thread (scripts, notebooks, tests); returns the trainer with its model and log."""
    trainer = AETrainer(cfg, data if data is not None else load_dataset(cfg.data))
    trainer.fit()
    return trainer
