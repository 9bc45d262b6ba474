"""The sweep as one engine job: every trial of the search space, trained here one or two at a time with
synchronous successive halving (labcore.sweep.halving), or on Ray Tune with ASHA (labcore.sweep.ray_backend).

Local backend: each trial is an ordinary `Trainer.fit()` in a thread of its own, held at each rung (a callback
waits at the end of the rung's epoch) until the sweep has seen every live trial reach the rung; the trials cut
there are told to stop, the others go on from where they were (no retraining). Pause and Stop are honoured
between batches. Pages read `rows()` (a copy, any thread) and `progress()`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from dataclasses import dataclass, field, replace

import torch

from labcore.config import RunConfig
from labcore.data import DataBundle, load_dataset
from labcore.engine import Job, Progress
from labcore.sweep import halving
from labcore.sweep.space import SweepConfig, Trial, run_config, trials
from labcore.train.trainer import Callback, Diverged, Trainer

log = logging.getLogger(__name__)

# a trial's state: waiting (not started), running, held (at a rung, waiting for the others), cut (stopped by
# successive halving / ASHA), finished (trained every epoch), stopped (the sweep was stopped), diverged, failed
TRIAL_STATES = ("waiting", "running", "held", "cut", "finished", "stopped", "diverged", "failed")


@dataclass
class TrialRow:
    """One trial as the page shows it (a copy: the job keeps changing its own)."""

    trial: Trial
    config: RunConfig
    state: str = "waiting"
    val_acc: list[float] = field(default_factory=list)  # per epoch
    val_loss: list[float] = field(default_factory=list)
    cut_at: int | None = None  # the rung (epoch) it stopped at, when cut
    seconds: float = 0.0  # training time (not the time held at a rung)

    @property
    def epochs(self) -> int:
        return len(self.val_acc)

    @property
    def best(self) -> float:
        """Its best validation accuracy so far (NaN before its first epoch)."""
        good = [a for a in self.val_acc if a == a]
        return max(good) if good else math.nan


class _TrialRun:
    """One trial's thread and the events that hold it at a rung."""

    def __init__(self, row: TrialRow):
        self.row = row
        self.target = 0
        self.reached, self.go = threading.Event(), threading.Event()
        self.killed = False
        self.held_s = 0.0  # time spent held at rungs: not training time
        self.thread: threading.Thread | None = None


class _Gate(Callback):
    def __init__(self, job: SweepJob, run: _TrialRun):
        self.job, self.run = job, run

    def on_batch_end(self, trainer: Trainer, logs: dict) -> None:
        if not self.job.checkpoint() or self.run.killed:
            trainer.should_stop = True

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        run, job = self.run, self.job
        with job._lock:
            run.row.val_acc.append(float(logs["val_acc"]))
            run.row.val_loss.append(float(logs["val_loss"]))
        if trainer.epoch >= run.target and trainer.epoch < trainer.cfg.train.epochs and not trainer.should_stop:
            with job._lock:
                run.row.state = "held"
            run.reached.set()
            held = time.perf_counter()
            while not run.go.wait(0.05):
                if job.stopping or run.killed:
                    break
            run.go.clear()
            run.held_s += time.perf_counter() - held
            with job._lock:
                if run.row.state == "held":
                    run.row.state = "running"
        if run.killed or job.stopping:
            trainer.should_stop = True


class SweepJob(Job):
    kind = "sweep"
    failure_key = "sweep.failed"

    def __init__(self, cfg: SweepConfig, owner: str | None = None, threads: int = 0):
        super().__init__(cfg, owner, threads)
        self._rows = [TrialRow(t, run_config(cfg, t)) for t in trials(cfg)]
        self.budget = halving.budget(len(self._rows), cfg.epochs, cfg.eta)
        self.ray_init_s: float | None = None  # Ray backend: how long connecting took

    # -- reading (any thread) -----------------------------------------------------------------------
    def rows(self) -> list[TrialRow]:
        with self._lock:
            return [replace(r, val_acc=list(r.val_acc), val_loss=list(r.val_loss)) for r in self._rows]

    def progress(self) -> Progress:
        rows = self.rows()
        done = sum(r.epochs for r in rows)
        running = [r for r in rows if r.state == "running"]
        part = running[0].trial.label() if running else ""
        return self._timed(Progress(fraction=min(1.0, done / self.budget) if self.budget else 0.0,
                                    epoch=done, epochs=self.budget, part=part,
                                    index=running[0].trial.index + 1 if running else 0, parts=len(rows)))

    def best(self) -> TrialRow | None:
        rows = [r for r in self.rows() if r.best == r.best]
        return max(rows, key=lambda r: (r.best, -r.trial.index)) if rows else None

    # -- the thread ---------------------------------------------------------------------------------
    def _work(self) -> None:
        cfg: SweepConfig = self.config
        if cfg.backend == "ray":
            from labcore.sweep.ray_backend import run_on_ray

            run_on_ray(self)
            return
        data = load_dataset(self._rows[0].config.data) if self._rows else None
        runs = [_TrialRun(r) for r in self._rows]
        marks = halving.rungs(cfg.epochs, cfg.eta)
        alive = runs
        try:
            for k, target in enumerate(marks):
                self._train_to(alive, target, data)
                if self.stopping:
                    break
                if k == len(marks) - 1:
                    break
                with self._lock:
                    scores = {i: (r.row.val_acc[target - 1] if r.row.epochs >= target else math.nan)
                              for i, r in enumerate(alive) if r.row.state == "held"}
                keep = set(halving.promote(scores, cfg.eta)) if scores else set()
                for i, r in enumerate(alive):
                    if i not in keep and r.row.state == "held":
                        with self._lock:
                            r.row.state, r.row.cut_at = "cut", target
                        r.killed = True
                        r.go.set()
                alive = [r for i, r in enumerate(alive) if i in keep]
        finally:
            for r in runs:  # stopped, failed or done: no thread may stay held
                r.killed = r.killed or self.stopping
                r.go.set()
            for r in runs:
                if r.thread is not None:
                    r.thread.join(5)
            with self._lock:
                for r in runs:
                    if r.row.state in ("waiting", "running", "held"):
                        r.row.state = "stopped"
        self.result = self.rows()

    def _train_to(self, alive: list[_TrialRun], target: int, data: DataBundle) -> None:
        """Every trial of `alive` trains to epoch `target` (or ends), `parallel` at a time."""
        queue, inflight = list(alive), []
        threads = max(1, self.threads // max(1, self.config.parallel))
        while queue or inflight:
            while queue and len(inflight) < self.config.parallel and not self.stopping:
                r = queue.pop(0)
                r.reached.clear()
                r.target = target
                with self._lock:
                    r.row.state = "running"
                if r.thread is None:
                    r.thread = threading.Thread(target=self._trial, args=(r, data, threads), daemon=True,
                                                name=f"sweep-{self.id}-{r.row.trial.index}")
                    r.thread.start()
                else:
                    r.go.set()
                inflight.append(r)
            if self.stopping:
                return
            for r in [r for r in inflight if r.reached.wait(0.02)]:
                inflight.remove(r)

    def _trial(self, run: _TrialRun, data: DataBundle, threads: int) -> None:
        torch.set_num_threads(threads)
        start = time.perf_counter()
        state = "finished"
        try:
            trainer = Trainer(run.row.config, data, callbacks=[_Gate(self, run)])
            trainer.fit()
        except Diverged:
            state = "diverged"
        except Exception:
            log.error("sweep %s trial %d failed:\n%s", self.id, run.row.trial.index, traceback.format_exc())
            state = "failed"
        finally:
            with self._lock:
                run.row.seconds += time.perf_counter() - start - run.held_s
                if run.row.state in ("running", "held"):
                    stopped = self.stopping or run.killed or run.row.epochs < run.row.config.train.epochs
                    run.row.state = state if state != "finished" else ("stopped" if stopped else "finished")
            run.reached.set()
