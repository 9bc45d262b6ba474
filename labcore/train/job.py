"""Background training: a `TrainingJob` runs one `Trainer.fit()` as an engine job (labcore.engine), so it
pauses, resumes and stops between batches and takes a new learning rate mid-run. Nothing here knows about
Streamlit: pages read snapshots and call methods.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.engine import ACTIVE, ENDED, Engine, Job, Progress, spare_threads
from labcore.i18n import LabError
from labcore.metrics import ClassificationReport, classification_report
from labcore.train.inspector import Inspector
from labcore.train.trainer import Callback, Diverged, EarlyStopping, Trainer

log = logging.getLogger(__name__)

__all__ = ["ACTIVE", "ENDED", "Engine", "Outcome", "RegressionOutcome", "TrainingJob", "spare_threads"]


@dataclass
class Outcome:
    """What a finished (or stopped) run leaves behind for the result panels."""

    test_loss: float
    test_accuracy: float
    y_true: np.ndarray
    y_prob: np.ndarray
    report: ClassificationReport
    best_epoch: int
    stopped_early: bool
    restored_best: bool = False  # True: the test scores are those of the best epoch's weights, not the last


@dataclass
class RegressionOutcome:
    """What a finished forecasting (regression) run leaves behind: its predictions for the test windows."""

    test_loss: float  # mean squared error on the model's (standardised) scale
    y_true: np.ndarray  # (N, horizon)
    y_pred: np.ndarray
    best_epoch: int
    stopped_early: bool


class _Control(Callback):
    """Between batches: honour stop, wait while paused, apply a new learning rate."""

    def __init__(self, job: TrainingJob):
        self.job = job

    def on_batch_end(self, trainer: Trainer, logs: dict) -> None:
        job = self.job
        if job.status == "paused" and hasattr(trainer, "flush"):
            trainer.flush()  # a paused chart shows every step taken, not the last bunch read back
        # slow motion: a delay that wakes at once on Stop (a closed tab must not wait out a long delay)
        if not job.checkpoint() or job.sleep(trainer.cfg.train.step_delay):
            trainer.should_stop = True
        lr = job.take_new_lr()
        if lr is not None:
            trainer.set_base_lr(lr)
            if hasattr(job, "lr_changes"):  # the charts mark where the rate changed
                job.lr_changes.append((trainer.step, trainer.step / max(trainer.steps_per_epoch, 1), lr))


class _Boundary(Callback):
    """For 2-D data: class probabilities on a grid after every epoch, for the live decision boundary."""

    def __init__(self, job: TrainingJob, size: int = 80):
        self.job, self.size = job, size

    def on_fit_start(self, trainer: Trainer, logs: dict) -> None:
        self.on_epoch_end(trainer, logs)

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        x = trainer.data.x_train
        lo, hi = x.min(0).values - 0.3, x.max(0).values + 0.3
        xx, yy = (torch.linspace(lo[i].item(), hi[i].item(), self.size) for i in range(2))
        grid = torch.stack(torch.meshgrid(xx, yy, indexing="xy"), -1).reshape(-1, 2)
        probs = trainer.predict_proba(grid).reshape(self.size, self.size, -1)
        trainer.model.train()
        with self.job._lock:
            self.job.boundary = (xx.numpy(), yy.numpy(), probs)


class TrainingJob(Job):
    """One `Trainer.fit()` in a daemon thread, controlled between batches (pause, resume, stop, new lr)."""

    kind = "train"
    can_set_lr = True

    def __init__(self, cfg: RunConfig, owner: str | None = None, threads: int = 0):
        super().__init__(cfg, owner, threads)
        self.trainer: Trainer | None = None
        self.outcome: Outcome | None = None
        self.boundary: tuple | None = None
        self.lr_changes: list[tuple[int, float, float]] = []  # (step, epoch as a fraction, new rate) of live changes

    def snapshot(self) -> tuple[list[dict], list[dict]]:
        return self.trainer.log.snapshot() if self.trainer else ([], [])

    def progress(self) -> Progress:
        """Epoch, step, samples/s over the last seconds, and time left, for the progress bar."""
        tr = self.trainer
        if tr is None:
            return self._timed(Progress(epochs=self.config.train.epochs))
        recent = tr.log.tail(200)  # never the whole log: a long run has ~100,000 rows
        step = recent[-1]["step"] if recent else 0
        recent = [r for r in recent if r["time"] >= recent[-1]["time"] - 3]
        rate = 0.0
        if len(recent) >= 2 and recent[-1]["time"] > recent[0]["time"]:
            rate = (recent[-1]["step"] - recent[0]["step"]) / (recent[-1]["time"] - recent[0]["time"])
        eta = (tr.total_steps - step) / rate if rate > 0 else float("nan")
        return self._timed(Progress(
            fraction=step / tr.total_steps if tr.total_steps else 0.0, epoch=tr.epoch,
            epochs=self.config.train.epochs, step=step, total_steps=tr.total_steps,
            step_in_epoch=step - (tr.epoch - 1) * tr.steps_per_epoch, steps_per_epoch=tr.steps_per_epoch,
            samples_per_s=rate * tr.batch_size, eta_s=eta))

    # -- the thread ---------------------------------------------------------------------------------
    def _work(self) -> None:
        """Load, train, evaluate and end the job; subclasses (race, transfer, autoencoders...) replace this."""
        cfg = self.config
        data = load_dataset(cfg.data)
        callbacks: list[Callback] = [_Control(self)]
        if cfg.train.patience:
            callbacks.append(EarlyStopping(cfg.train.patience))
        if data.info.kind == "points":
            callbacks.append(_Boundary(self))
        self.trainer = Trainer(cfg, data, callbacks=callbacks)
        if cfg.train.inspect:  # "Inside the network": built on the trainer's model, read by the page
            self.trainer.inspector = Inspector(self.trainer.model)
        try:
            result = self.trainer.fit()
        except Diverged as e:
            self.trainer.restore_best()
            self._end("diverged", LabError("train.diverged", step=e.step, lr=cfg.optim.lr))
            return
        restored = result.stopped_early  # early stopping has already gone back to the best epoch's weights
        if cfg.train.restore_best and not restored:
            restored = self.trainer.restore_best()
        self.outcome = self._evaluate(result.best_epoch, result.stopped_early, restored)
        self._end("stopped" if self._stop.is_set() else "finished")

    def _evaluate(self, best_epoch: int, stopped_early: bool, restored_best: bool = False) -> Outcome | RegressionOutcome:
        tr, data = self.trainer, self.trainer.data
        if tr.regression:
            y_pred = tr.predict_logits(data.x_test).cpu().numpy()
            loss = float(tr.evaluate(data.x_test, data.y_test)[0])
            return RegressionOutcome(loss, data.y_test.numpy(), y_pred, best_epoch, stopped_early)
        y_prob = tr.predict_proba(data.x_test)
        y_true = data.y_test.numpy()
        loss = float(-np.log(np.clip(y_prob[np.arange(len(y_true)), y_true], 1e-12, None)).mean())
        report = classification_report(y_true, y_prob, data.class_names, positive=data.info.positive)
        return Outcome(loss, report.accuracy, y_true, y_prob, report, best_epoch, stopped_early, restored_best)
