"""Train-page runs on a Ray cluster: the optional extra `[cluster]` and `LAB_RAY_ADDRESS`.

`LAB_RAY_ADDRESS=local` starts a Ray instance on this machine (how CI tests it), `auto` joins the cluster this
machine belongs to, `ray://host:10001` a remote one. Without the setting nothing here imports ray and the
engine runs every job in a thread of this process, as always.

The page never learns where a run trains. The engine still hands it a local job object (`RayTrainingJob`)
with the usual log, progress, pause, resume, stop and live learning-rate change; its thread only relays:
the run itself is an ordinary `TrainingJob` inside a Ray actor (`RemoteRun`), on whichever node Ray picks.
Every 0.2 s the relay forwards the page's requests and copies the new log rows back (`MetricLog.since`), and
at the end the trained weights come back, so the result panels, Explain and Try it work on the model as if
it had trained here. The same seed gives the same per-step losses as a local run (a test checks it).

The engine's capacity still counts these runs: on a cluster, raise `LAB_MAX_JOBS` to the cluster's cores.
A remote cluster needs the lab installed on every node (`pip install dl-visual-lab[cluster]`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from labcore.engine import ENDED
from labcore.i18n import LabError
from labcore.train.job import TrainingJob

log = logging.getLogger(__name__)

ADDRESS_ENV = "LAB_RAY_ADDRESS"
POLL_S = 0.2  # the relay's period: the page polls twice a second, so it never sees a staler log than this
_INIT_LOCK = threading.Lock()


def address() -> str:
    return os.environ.get(ADDRESS_ENV, "").strip()


def enabled() -> bool:
    return bool(address())


def training_job_class() -> type[TrainingJob]:
    """The class the engine builds a Train-page run with: on Ray when LAB_RAY_ADDRESS is set."""
    return RayTrainingJob if enabled() else TrainingJob


def connect():
    """The `ray` module, connected once per process to the cluster LAB_RAY_ADDRESS names."""
    try:
        import ray
    except ImportError as e:
        raise LabError("cluster.no_ray", address=address()) from e
    with _INIT_LOCK:
        if not ray.is_initialized():
            where = address()
            if where == "local":
                cpus = int(os.environ.get("LAB_RAY_CPUS", "0") or 0) or (os.cpu_count() or 2)
                kwargs = {"num_cpus": cpus, "include_dashboard": False, "log_to_driver": False}
            else:
                kwargs = {"address": where, "log_to_driver": False}
            try:
                _init_in_keeper(ray, kwargs)
            except Exception as e:  # unreachable address, version mismatch, no permission for /tmp/ray...
                raise LabError("cluster.unreachable", address=where, error=" ".join(str(e).split())[:200]) from e
    return ray


def _init_in_keeper(ray, kwargs: dict) -> None:
    """`ray.init` in a thread that lives as long as the process. A local Ray's processes are started with
    PR_SET_PDEATHSIG, which fires when the *thread* that started them ends: started from a job's thread, the
    whole Ray instance died with the first job (found by the second test run on it)."""
    done, errors = threading.Event(), []

    def keeper() -> None:
        try:
            ray.init(**kwargs)
        except Exception as e:
            errors.append(e)
        done.set()
        if not errors:
            threading.Event().wait()  # never set: this thread is Ray's parent until the process ends

    threading.Thread(target=keeper, name="ray-keeper", daemon=True).start()
    done.wait()
    if errors:
        raise errors[0]


class RemoteRun:
    """The actor's body (made a Ray actor in `RayTrainingJob`): a plain TrainingJob in the actor's process,
    driven by the relay's calls. Every method returns at once; the run trains in the job's own thread."""

    def __init__(self, cfg: Any):
        self.job = TrainingJob(cfg, owner=None, threads=int(os.environ.get("LAB_RAY_THREADS", "1") or 1))
        self.job.start()

    def control(self, action: str, lr: float | None = None) -> None:
        if action == "set_lr" and lr is not None:
            self.job.set_lr(lr)
        elif action in ("pause", "resume", "stop"):
            getattr(self.job, action)()

    def poll(self, steps_seen: int, epochs_seen: int) -> dict:
        job, trainer = self.job, self.job.trainer
        status = job.status  # before the log: once it says ended, the rows read next are the last ones
        steps, epochs = trainer.log.since(steps_seen, epochs_seen) if trainer is not None else ([], [])
        return {"status": status, "steps": steps, "epochs": epochs, "epoch": trainer.epoch if trainer else 0,
                "boundary": job.boundary, "lr_changes": list(job.lr_changes),
                "error": (job.error.key, job.error.params) if job.error is not None else None}

    def result(self) -> dict:
        """The weights the run ended with (its best epoch's when it restored them) and how it ended."""
        job = self.job
        job.join(60)
        out = job.outcome
        state = {k: v.detach().cpu() for k, v in job.trainer.model.state_dict().items()} if job.trainer else None
        return {"state": state, "best_epoch": getattr(out, "best_epoch", 0),
                "stopped_early": getattr(out, "stopped_early", False),
                "restored_best": getattr(out, "restored_best", False)}


class RayTrainingJob(TrainingJob):
    """A Train-page run whose training happens in a Ray actor; this object, in the page's process, relays."""

    failure_key = "train.failed"

    def _work(self) -> None:
        from labcore.data import load_dataset
        from labcore.train.trainer import Trainer

        ray = connect()
        cfg = self.config
        # The local twin: the page reads its log and progress, and the result panels its model, as for a
        # local run. It never trains; the actor's weights are loaded into it at the end.
        self.trainer = Trainer(cfg, load_dataset(cfg.data), callbacks=[])
        actor = ray.remote(num_cpus=1)(RemoteRun).remote(cfg)
        try:
            remote = self._relay(ray, actor)
            if remote["status"] == "failed" and remote["error"] is not None:
                key, params = remote["error"]
                self._end("failed", LabError(key, **params))
                return
            end = ray.get(actor.result.remote())
        finally:
            ray.kill(actor)
        if end["state"] is not None:
            self.trainer.model.load_state_dict(end["state"])
        if remote["status"] == "diverged":
            key, params = remote["error"] or ("train.diverged", {"step": 0, "lr": cfg.optim.lr})
            self._end("diverged", LabError(key, **params))
            return
        self.outcome = self._evaluate(end["best_epoch"], end["stopped_early"], end["restored_best"])
        self._end("stopped" if self._stop.is_set() else "finished")

    def _relay(self, ray, actor) -> dict:
        """Forward pause/resume/stop/new rate to the actor and copy its new log rows here until it ends."""
        told, steps_seen, epochs_seen = "running", 0, 0
        while True:
            if self._stop.is_set() and told != "stop":
                actor.control.remote("stop")
                told = "stop"
            elif told != "stop":
                want = "paused" if self.status == "paused" else "running"
                if want != told:
                    actor.control.remote("pause" if want == "paused" else "resume")
                    told = want
            lr = self.take_new_lr()
            if lr is not None:
                actor.control.remote("set_lr", lr)
            p = ray.get(actor.poll.remote(steps_seen, epochs_seen))
            log_ = self.trainer.log
            if p["steps"]:
                log_.add_steps(p["steps"])
                self._first_step.set()
            for row in p["epochs"]:
                log_.add_epoch(row)
            steps_seen, epochs_seen = steps_seen + len(p["steps"]), epochs_seen + len(p["epochs"])
            self.trainer.epoch = p["epoch"]
            with self._lock:
                self.boundary = p["boundary"]
            self.lr_changes = p["lr_changes"]
            if p["status"] in ENDED:
                return p
            time.sleep(POLL_S)
