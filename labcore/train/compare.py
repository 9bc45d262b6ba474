"""Train several models on the same data, one after another, in one background job: the engine of the
Sequences and Attention pages ("RNN against LSTM at length 80", "which forecaster beats the naive one").

Every contender is an ordinary `Trainer` run with the same data, optimizer, epochs and seed, so each
result is what that model would give on the Train page. Probes run after every epoch on a fixed batch:
the gradient reaching each time step (vanishing gradients) and, for forecasts, the test predictions so
the forecast plot moves while the model learns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from labcore.config import DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from labcore.data import load_dataset
from labcore.engine import Progress
from labcore.train.job import TrainingJob, _Control
from labcore.train.probes import gradient_over_time
from labcore.train.trainer import Callback, Diverged, Trainer

PROBE_BATCH = 64


@dataclass(frozen=True)
class CompareConfig:
    data: DataConfig = field(default_factory=DataConfig)
    models: tuple[ModelConfig, ...] = ()
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def run(self, i: int) -> RunConfig:
        """Contender i as an ordinary training run."""
        return RunConfig(data=self.data, model=self.models[i], optim=self.optim, train=self.train)


@dataclass
class Contender:
    """One model of the comparison: its trainer (once started), how it ended, and what the probes saw."""

    model: ModelConfig
    status: str = "waiting"  # waiting, running, finished, stopped, diverged
    trainer: Trainer | None = None
    test_loss: float = float("nan")
    test_acc: float = float("nan")
    test_pred: np.ndarray | None = None  # regression: predictions for the test windows (model scale)
    gradients: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (epoch, |dL/dx_t| per t)

    @property
    def name(self) -> str:
        return self.model.name

    def snapshot(self) -> tuple[list[dict], list[dict]]:
        return self.trainer.log.snapshot() if self.trainer else ([], [])


class _Probe(Callback):
    """After every epoch (and before the first): gradient per time step, and forecasts for the test windows."""

    def __init__(self, job: CompareJob, contender: Contender):
        self.job, self.contender = job, contender

    def on_fit_start(self, trainer: Trainer, logs: dict) -> None:
        self.on_epoch_end(trainer, {"epoch": 0})

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        data = trainer.data
        if data.info.kind in ("tokens", "series"):
            x, y = data.x_val[:PROBE_BATCH].to(trainer.device), data.y_val[:PROBE_BATCH].to(trainer.device)
            curve = gradient_over_time(trainer.model, x, y, regression=trainer.regression)
            with self.job._lock:
                self.contender.gradients.append((int(logs.get("epoch", 0)), curve))
        if trainer.regression:
            pred = trainer.predict_logits(data.x_test).cpu().numpy()
            trainer.model.train()
            with self.job._lock:
                self.contender.test_pred = pred


class CompareJob(TrainingJob):
    """The contenders one after another in a background thread; pause, resume and stop act between batches."""

    kind = "compare"
    can_set_lr = False  # every contender keeps the configured learning rate, so they stay comparable

    def __init__(self, cfg: CompareConfig, owner: str | None = None, threads: int = 0):
        super().__init__(cfg, owner, threads)  # reads only cfg.train, which a CompareConfig has too
        if not cfg.models:
            raise ValueError("a comparison needs at least one model")
        self.contenders = [Contender(m) for m in cfg.models]
        self.data = None

    @property
    def current(self) -> Contender | None:
        running = [c for c in self.contenders if c.status == "running"]
        return running[0] if running else None

    def snapshot(self) -> tuple[list[dict], list[dict]]:
        c = self.current or self.contenders[-1]
        return c.snapshot()

    def progress(self) -> Progress:
        """Share done over all contenders (by epochs), which one is training, elapsed time and time left."""
        epochs = self.config.train.epochs
        done = 0.0
        for c in self.contenders:
            if c.status in ("finished", "stopped", "diverged"):
                done += epochs
            elif c.trainer is not None:
                steps, _ = c.trainer.log.snapshot()
                done += steps[-1]["epoch"] if steps else 0.0
        current = self.current
        return self._timed(Progress(
            fraction=min(1.0, done / (epochs * len(self.contenders))), part=current.name if current else "",
            index=self.contenders.index(current) + 1 if current else len(self.contenders),
            parts=len(self.contenders), epoch=current.trainer.epoch if current and current.trainer else 0,
            epochs=epochs))

    def _work(self) -> None:
        cfg: CompareConfig = self.config
        self.data = load_dataset(cfg.data)
        for i, c in enumerate(self.contenders):
            if self._stop.is_set():
                break
            self._fit(c, cfg.run(i))
        self._end("stopped" if self._stop.is_set() else "finished")

    def _fit(self, c: Contender, run: RunConfig) -> None:
        trainer = Trainer(run, self.data, callbacks=[_Control(self), _Probe(self, c)])
        with self._lock:
            c.trainer, c.status = trainer, "running"
        try:
            trainer.fit()
            status = "stopped" if self._stop.is_set() else "finished"
        except Diverged:
            trainer.restore_best()
            status = "diverged"
        c.test_loss, c.test_acc = trainer.evaluate(self.data.x_test, self.data.y_test)
        if trainer.regression:
            c.test_pred = trainer.predict_logits(self.data.x_test).cpu().numpy()
        with self._lock:
            c.status = status


class SequencesJob(CompareJob):
    """The Sequences page's comparison: the same job, recorded in the run history as that page's (labcore.tracking)."""

    kind = "sequences"


class AttentionJob(CompareJob):
    """The Attention page's Transformer on toy sentences or tiny ViT: recorded in the run history as that page's."""

    kind = "attention"


def compare_config(data: DataConfig, models: list[ModelConfig] | tuple[ModelConfig, ...], *, epochs: int,
                   lr: float, batch_size: int = 64, seed: int = 0, clip_norm: float = 1.0,
                   step_delay: float = 0.0) -> CompareConfig:
    """A comparison with Adam at `lr`, the same for every contender so they stay comparable. Gradients are
    clipped to norm 1 by default: recurrent nets occasionally produce one huge gradient that undoes
    everything learned so far (exploding gradients, the other face of vanishing ones)."""
    return CompareConfig(data=data, models=tuple(models),
                         optim=OptimConfig(name="adam", lr=lr, clip_norm=clip_norm),
                         train=replace(TrainConfig(), epochs=epochs, batch_size=batch_size, seed=seed,
                                       step_delay=step_delay))


def vit_config(data_name: str, *, epochs: int, width: int, seed: int = 0) -> CompareConfig:
    """The Attention page's tiny Vision Transformer run. Shapes get 3,000 pictures and batches of 32: with 600
    pictures the default reached 47 % on the 4 classes (a rollout of a model that has not learned says
    nothing); this setup reached 84-91 % test accuracy at the page's defaults (seeds 0-2, ~9 s on 2 cores)."""
    from labcore.models import default_config

    model = replace(default_config("vit"), width=width)
    shapes = data_name == "shapes"
    data = DataConfig(name=data_name, n_samples=3000 if shapes else 0, seed=seed)
    return compare_config(data, [model], epochs=epochs, lr=2e-3, batch_size=32, seed=seed)


MLP_VS_CNN_DATA = ("shapes", "digits", "cifar10")  # CIFAR-10 once downloaded (the page offers the download)
CIFAR_SUBSET = 5000  # training pictures drawn from CIFAR-10's 50,000, so both models train in minutes on a CPU


def mlp_vs_cnn_config(data_name: str, *, epochs: int, seed: int = 0) -> CompareConfig:
    """The Convolution page's MLP against CNN: the lab's default MLP and CNN, one after the other on the same
    pictures in the same batch order (same seed), Adam 1e-3. On shapes (32x32 colour) at 10 epochs: MLP 201,092
    weights 32 %, CNN 19,748 weights 75 % test accuracy, 8.6 s for both on this machine (seed 0)."""
    from labcore.models import default_config

    n = CIFAR_SUBSET if data_name == "cifar10" else 0
    return compare_config(DataConfig(name=data_name, n_samples=n, seed=seed), [default_config("mlp"), default_config("cnn")],
                          epochs=epochs, lr=1e-3, clip_norm=0.0, seed=seed)
