"""Background training: a `TrainingJob` runs one `Trainer.fit()` in a daemon thread; a `JobRegistry`
holds the jobs of every browser session, caps how many run at once, and stops a session's jobs
when its tab goes away. Nothing here knows about Streamlit: pages read snapshots and call methods.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
import uuid
from dataclasses import dataclass

import numpy as np
import torch

from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.i18n import LabError
from labcore.metrics import ClassificationReport, classification_report
from labcore.train.trainer import Callback, Diverged, EarlyStopping, Trainer

log = logging.getLogger(__name__)

ACTIVE = ("pending", "running", "paused", "stopping")  # stopping: asked to stop, the thread is winding up
ENDED = ("stopped", "finished", "diverged", "failed")


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
        if not job._resume.is_set() and hasattr(trainer, "flush"):
            trainer.flush()  # a paused chart shows every step taken, not the last bunch read back
        job._between_batches()
        if job._stop.is_set():
            trainer.should_stop = True
        lr, job._new_lr = job._new_lr, None
        if lr is not None:
            trainer.set_base_lr(lr)
        if trainer.cfg.train.step_delay:
            time.sleep(trainer.cfg.train.step_delay)


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


class TrainingJob:
    """One training run in a daemon thread, controlled between batches (pause, resume, stop, new lr)."""

    def __init__(self, cfg: RunConfig, owner: str | None = None, threads: int = 0):
        self.id = uuid.uuid4().hex[:8]
        # torch threads for this run: the config's, else what the registry could spare, else all cores but
        # one (left to the server and the browser, as the registry does).
        self.threads = cfg.train.num_threads or threads or spare_threads(0)
        self.config, self.owner = cfg, owner
        self.created = time.time()
        self._lock = threading.Lock()
        self._status = "pending"
        self.error: LabError | None = None  # what went wrong, in catalogue form
        self.trainer: Trainer | None = None
        self.outcome: Outcome | None = None
        self.boundary: tuple | None = None
        self._stop, self._resume = threading.Event(), threading.Event()
        self._resume.set()
        self._first_step = threading.Event()  # set after the first batch (or at the end): see wait_first_step
        self._new_lr: float | None = None
        self._started = self._ended = None
        self._thread = threading.Thread(target=self._run, name=f"train-{self.id}", daemon=True)

    # -- control (any thread) ---------------------------------------------------------------------
    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def pause(self) -> None:
        if self.status == "running":
            self._resume.clear()
            self._set_status("paused")

    def resume(self) -> None:
        if self.status == "paused":
            self._set_status("running")
            self._resume.set()

    def stop(self) -> None:
        # "stopping" at once, not "paused": a page that stopped polling while paused polls again and sees
        # the end (the thread may still need a moment: a last evaluation, an autoencoder's PCA comparison).
        with self._lock:
            if self._status in ACTIVE:
                self._status = "stopping"
        self._stop.set()
        self._resume.set()

    def set_lr(self, lr: float) -> None:
        self._new_lr = float(lr)

    def wait_first_step(self, timeout: float = 0.4) -> bool:
        """Block until the first batch is logged (or the job ended), at most `timeout` seconds.

        A page calls this right after starting a job, so the rerun that follows the click already draws
        the first points instead of waiting for the next poll (up to half a second later)."""
        return self._first_step.wait(timeout)

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- reading (any thread) ---------------------------------------------------------------------
    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def done(self) -> bool:
        return self.status in ENDED

    def snapshot(self) -> tuple[list[dict], list[dict]]:
        return self.trainer.log.snapshot() if self.trainer else ([], [])

    def progress(self) -> dict[str, float]:
        """Epoch, step, samples/s over the last seconds, and time left, for the progress bar."""
        tr = self.trainer
        if tr is None:
            return {"epoch": 0, "epochs": self.config.train.epochs, "step": 0, "total_steps": 0,
                    "step_in_epoch": 0, "steps_per_epoch": 0, "samples_per_s": 0.0, "eta_s": float("nan"),
                    "elapsed_s": 0.0}
        steps, _ = tr.log.snapshot()
        step = steps[-1]["step"] if steps else 0
        recent = [r for r in steps[-200:] if r["time"] >= steps[-1]["time"] - 3] if steps else []
        rate = 0.0
        if len(recent) >= 2 and recent[-1]["time"] > recent[0]["time"]:
            rate = (recent[-1]["step"] - recent[0]["step"]) / (recent[-1]["time"] - recent[0]["time"])
        elapsed = (self._ended or time.perf_counter()) - self._started if self._started else 0.0
        eta = (tr.total_steps - step) / rate if rate > 0 and not self.done else 0.0 if self.done else float("nan")
        return {"epoch": tr.epoch, "epochs": self.config.train.epochs, "step": step,
                "total_steps": tr.total_steps, "step_in_epoch": step - (tr.epoch - 1) * tr.steps_per_epoch,
                "steps_per_epoch": tr.steps_per_epoch, "samples_per_s": rate * tr.batch_size, "eta_s": eta,
                "elapsed_s": elapsed}

    # -- the thread ---------------------------------------------------------------------------------
    def _between_batches(self) -> None:
        """The training thread after each batch: the first one is done (see wait_first_step); wait while paused."""
        self._first_step.set()
        while not self._resume.is_set() and not self._stop.is_set():
            self._resume.wait(0.05)

    def _set_status(self, status: str) -> None:
        with self._lock:
            if self._status not in ENDED and self._status != "stopping":  # both are final from the outside
                self._status = status

    def _end(self, status: str, error: LabError | None = None) -> None:
        with self._lock:
            self._status, self.error = status, error
        self._ended = time.perf_counter()
        self._first_step.set()

    def _run(self) -> None:
        """The thread: `_work` trains; whatever goes wrong ends the job with a sentence for the page."""
        self._started = time.perf_counter()
        try:
            torch.set_num_threads(self.threads)  # per thread in torch's OpenMP build
            self._work()
        except LabError as e:
            self._end("failed", e)
        except Exception as e:  # the page shows a sentence, the server log keeps the traceback
            log.error("%s %s failed:\n%s", type(self).__name__, self.id, traceback.format_exc())
            self._end("failed", LabError("train.failed", error=f"{type(e).__name__}: {e}"))
        finally:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

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
        self._set_status("running")
        try:
            result = self.trainer.fit()
        except Diverged as e:
            self.trainer.restore_best()
            self._end("diverged", LabError("train.diverged", step=e.step, lr=cfg.optim.lr))
            return
        self.outcome = self._evaluate(result.best_epoch, result.stopped_early)
        self._end("stopped" if self._stop.is_set() else "finished")

    def _evaluate(self, best_epoch: int, stopped_early: bool) -> Outcome | RegressionOutcome:
        tr, data = self.trainer, self.trainer.data
        if tr.regression:
            y_pred = tr.predict_logits(data.x_test).cpu().numpy()
            loss = float(tr.evaluate(data.x_test, data.y_test)[0])
            return RegressionOutcome(loss, data.y_test.numpy(), y_pred, best_epoch, stopped_early)
        y_prob = tr.predict_proba(data.x_test)
        y_true = data.y_test.numpy()
        loss = float(-np.log(np.clip(y_prob[np.arange(len(y_true)), y_true], 1e-12, None)).mean())
        report = classification_report(y_true, y_prob, data.class_names)
        return Outcome(loss, report.accuracy, y_true, y_prob, report, best_epoch, stopped_early)


def spare_threads(running: int, cores: int | None = None) -> int:
    """torch threads for one more job while `running` others train: a core is left to the server and the
    browser, and the rest is shared. When cores are oversubscribed, OpenMP threads wait for each other at
    every operation: on a busy 2-core machine, 2 threads trained the digits CNN 10-30x slower than 1."""
    cores = cores or os.cpu_count() or 1
    return max(1, (cores - 1) // (running + 1))


class JobRegistry:
    """Every job of every session in this process. At most `max_running` train at once (2 cores)."""

    def __init__(self, max_running: int = 2, keep_finished: int = 20):
        self.max_running, self.keep_finished = max_running, keep_finished
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}

    def submit(self, cfg, owner: str | None = None, job_class: type = None):
        """Start a job: `job_class(cfg, owner, threads=...)` (TrainingJob by default; a race is another)."""
        job_class = job_class or TrainingJob
        with self._lock:
            running = [j for j in self._jobs.values() if not j.done]
            if len(running) >= self.max_running:
                raise LabError("train.busy", running=len(running))
            threads = spare_threads(len(running))
            job = job_class(cfg, owner, threads=threads)
            self._jobs[job.id] = job
            self._forget_old()
        return job.start()

    def get(self, job_id: str | None) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(job_id) if job_id else None

    def jobs(self, owner: str | None = None) -> list[TrainingJob]:
        with self._lock:
            return [j for j in self._jobs.values() if owner is None or j.owner == owner]

    def stop_owned_by(self, owner: str) -> int:
        """Stop every live job of one session (its tab closed); returns how many."""
        live = [j for j in self.jobs(owner) if not j.done]
        for j in live:
            j.stop()
        return len(live)

    def stop_all(self, wait: float = 0.0) -> None:
        for j in self.jobs():
            j.stop()
        for j in self.jobs():
            j.join(wait)

    def _forget_old(self) -> None:
        ended = sorted((j for j in self._jobs.values() if j.done), key=lambda j: j.created)
        for j in ended[: max(0, len(ended) - self.keep_finished)]:
            del self._jobs[j.id]
