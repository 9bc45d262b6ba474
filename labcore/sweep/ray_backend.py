"""The sweep on Ray Tune: `tune.Tuner` with `ASHAScheduler` (val_acc, max, grace period 1, reduction factor eta),
each trial a function trainable that trains the lab's model with labcore's Trainer and reports its validation
accuracy after every epoch with `tune.report`.

Only imported when the page picks the Ray backend (LAB_RAY_ADDRESS set, `ray` installed: the `[cluster]` extra);
nothing at module level imports ray. The Tuner runs in the sweep job's thread; a Tune callback, called on that
thread as results arrive, copies each epoch into the job's rows, so the page's live curves poll them as for the
local backend. A Stopper ends the whole experiment when the job is stopped; while the job is paused the callback
waits, which holds every trial at its next report (Ray's function trainables wait for the driver there).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

from labcore.i18n import LabError

# The Tuner pickles its callbacks and stopper: they name their job by id and find it here, never hold it.
_LIVE: dict[str, Any] = {}


def _job(job_id: str) -> Any:
    return _LIVE[job_id]


def _classes() -> tuple[type, type]:
    """The Tune callback and stopper (made here, so that ray is imported only when the Ray backend runs)."""
    from ray import tune

    class Relay(tune.Callback):
        def __init__(self, job_id: str):
            self.job_id = job_id

        def on_trial_result(self, iteration, trials, trial, result, **info):
            job = _job(self.job_id)
            rows = job._rows
            row = rows[int(trial.config["index"])]
            with job._lock:
                if result.get("diverged"):
                    row.state = "diverged"
                else:
                    row.val_acc.append(float(result["val_acc"]))
                    row.val_loss.append(float(result["val_loss"]))
                    row.state = "running"
                row.seconds = float(result.get("time_total_s", row.seconds))
            job.report(sum(r.epochs for r in rows) / max(job.budget, 1))
            job.checkpoint()  # waits while paused: every trial waits at its next report

        def on_trial_complete(self, iteration, trials, trial, **info):
            job = _job(self.job_id)
            row = job._rows[int(trial.config["index"])]
            with job._lock:
                if row.state != "diverged":
                    row.state = "finished" if row.epochs >= job.config.epochs else "cut"
                    row.cut_at = None if row.state == "finished" else row.epochs

        def on_trial_error(self, iteration, trials, trial, **info):
            job = _job(self.job_id)
            with job._lock:
                job._rows[int(trial.config["index"])].state = "failed"

    class Stop(tune.Stopper):
        def __init__(self, job_id: str):
            self.job_id = job_id

        def __call__(self, trial_id, result):
            return False

        def stop_all(self):
            return _job(self.job_id).stopping

    return Relay, Stop


def _trainable(config: dict[str, Any]) -> None:
    """One trial on a Ray worker: train `config["run"]` (a RunConfig as a dict), one `tune.report` per epoch."""
    import torch
    from ray import tune

    from labcore.config import RunConfig
    from labcore.data import load_dataset
    from labcore.train.trainer import Callback, Diverged, Trainer

    torch.set_num_threads(int(config.get("threads", 1)))
    cfg = RunConfig.from_dict(config["run"])

    class Report(Callback):
        def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
            tune.report({"val_acc": float(logs["val_acc"]), "val_loss": float(logs["val_loss"]),
                         "epoch": int(logs["epoch"])})

    try:
        Trainer(cfg, load_dataset(cfg.data), callbacks=[Report()]).fit()
    except Diverged:
        tune.report({"val_acc": 0.0, "val_loss": float("inf"), "epoch": -1, "diverged": True})


def run_on_ray(job: Any) -> None:
    """Run `job` (a SweepJob with backend "ray") on the cluster LAB_RAY_ADDRESS names; fills `job._rows`."""
    from labcore import cluster

    t0 = time.perf_counter()
    cluster.connect()  # raises LabError("cluster.no_ray" / "cluster.unreachable")
    job.ray_init_s = time.perf_counter() - t0
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    cfg = job.config
    rows = job._rows
    if not rows:
        return

    Relay, Stop = _classes()
    scheduler = ASHAScheduler(time_attr="training_iteration", metric="val_acc", mode="max", max_t=cfg.epochs,
                              grace_period=1, reduction_factor=cfg.eta)
    storage = tempfile.mkdtemp(prefix="lab-sweep-")
    threads = int(os.environ.get("LAB_RAY_THREADS", "1") or 1)
    configs = [r.config.to_dict() for r in rows]

    def trainable(config: dict[str, Any]) -> None:
        _trainable({**config, "run": configs[int(config["index"])]})

    # on this machine, as many at once as the page asked; on a cluster, as many as its CPUs take
    concurrent = cfg.parallel if cluster.address() == "local" else None
    tuner = tune.Tuner(
        trainable, param_space={"index": tune.grid_search(list(range(len(rows)))), "threads": threads},
        tune_config=tune.TuneConfig(scheduler=scheduler, num_samples=1, max_concurrent_trials=concurrent,
                                     reuse_actors=True),
        run_config=tune.RunConfig(name=f"sweep-{job.id}", storage_path=storage, verbose=0, callbacks=[Relay(job.id)],
                                  stop=Stop(job.id), log_to_file=False))
    _LIVE[job.id] = job
    try:
        tuner.fit()
    except Exception as e:
        raise LabError("sweep.ray_failed", error=" ".join(str(e).split())[:200]) from e
    finally:
        _LIVE.pop(job.id, None)
        shutil.rmtree(storage, ignore_errors=True)
        with job._lock:
            for r in rows:
                if r.state in ("waiting", "running", "held"):
                    r.state = "stopped"
    job.result = job.rows()
