"""The engine: every background job of every browser session, one kind of object and one registry.

A job is anything that runs in a thread while a page stays usable: a training run, a race, a transfer race,
an autoencoder, an LR finder, SHAP values, an ideal image, a localisation sweep. The flow is the same for all:

    job = engine.submit(SomeJob(cfg, owner=session))   # queued; its thread starts when a slot is free
    # in the thread, SomeJob._work() does the work and calls, between units of work:
    #     if not self.checkpoint(): break               # waits while paused, False once asked to stop
    #     self.sleep(delay)                             # a pause that wakes at once on stop
    # on the page: job.status, job.progress() (one schema), job.result / job.error,
    #              job.pause(), job.resume(), job.stop()
    engine.detach(session)   # the tab's websocket closed: its jobs go on for `orphan_grace_s`
    engine.attach(session)   # it reconnected in time: nothing was lost
                             # otherwise the reaper stops its jobs, and forgets them once the session is gone

Capacity is one number for everything (`capacity()`: LAB_MAX_JOBS, or 2 on a 2-core machine), plus a lane
for short computations. Jobs beyond it wait in a fair queue (round-robin across sessions, a few waiting
jobs per session) and start by themselves. A paused job keeps its slot only for `pause_grace_s`, so a
forgotten Pause does not lock the class out. Finished jobs are kept per session (the
newest `keep_per_owner`), so one tab's runs never evict another's. Nothing here knows about Streamlit.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

from labcore.i18n import LabError

log = logging.getLogger(__name__)

# queued: waiting for a slot (no thread yet); stopping: asked to stop, the thread is winding up
ACTIVE = ("queued", "pending", "running", "paused", "stopping")
ENDED = ("stopped", "finished", "diverged", "failed")


@dataclass
class Progress:
    """How far a job is: the same fields for every kind (a field a job cannot know stays at its default)."""

    fraction: float = 0.0
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    total_steps: int = 0
    step_in_epoch: int = 0
    steps_per_epoch: int = 0
    samples_per_s: float = 0.0
    eta_s: float = math.nan
    elapsed_s: float = 0.0
    part: str = ""  # which of several things is running now (a model of a comparison)
    index: int = 0  # ... and its number, 1-based, of `parts`
    parts: int = 0

    def __getitem__(self, name: str) -> Any:  # pages read progress["epoch"]
        return getattr(self, name)


def spare_threads(running: int, cores: int | None = None) -> int:
    """torch threads for one more job while `running` others work: a core is left to the server and the
    browser, and the rest is shared. When cores are oversubscribed, OpenMP threads wait for each other at
    every operation: on a busy 2-core machine, 2 threads trained the digits CNN 10-30x slower than 1."""
    cores = cores or os.cpu_count() or 1
    return max(1, (cores - 1) // (running + 1))


def capacity(cores: int | None = None, gpus: int | None = None, free_gb: float | None = None) -> int:
    """How many jobs run at once: `LAB_MAX_JOBS` when set, else what the hardware takes. One per two CPU
    cores, at least two (each gets its share of the cores: more threads than cores made the lab's small
    models 10-30x slower, see spare_threads); four per GPU; at most one per 1.5 GB of free memory (a job
    holds a model, its optimizer state and a dataset copy on the device). Jobs beyond it wait in the engine's queue."""
    env = os.environ.get("LAB_MAX_JOBS", "").strip()
    if env:
        try:
            if int(env) >= 1:
                return int(env)
        except ValueError:
            pass
        log.warning("LAB_MAX_JOBS=%r is not a whole number >= 1; using the hardware's capacity", env)
    cores = cores or os.cpu_count() or 1
    if gpus is None:
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if free_gb is None:
        try:
            free_gb = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
        except (ValueError, OSError, AttributeError):  # not Linux
            free_gb = math.inf
    by_hardware = max(2, cores // 2, 4 * gpus)
    return max(1, min(by_hardware, int(free_gb // 1.5)))


class Job:
    """One unit of background work in a daemon thread, controlled between units of work.

    Subclasses implement `_work()` (and usually `progress()`); they end themselves with `_end(status)`,
    or `_run` ends them as finished (stopped, if asked to stop) when `_work` returns.
    """

    kind = "job"
    short = False  # a computation of seconds (an explanation, an LR finder): it has a lane of its own in the queue
    can_set_lr = False  # only a plain training run takes a new learning rate mid-run
    failure_key = "train.failed"  # the catalogue's sentence for an unexpected error in `_work`

    def __init__(self, config: Any = None, owner: str | None = None, threads: int = 0):
        self.id = uuid.uuid4().hex[:8]
        self.config, self.owner = config, owner
        train = getattr(config, "train", None)
        self.threads = getattr(train, "num_threads", 0) or threads or spare_threads(0)
        self.created = time.time()
        self._lock = threading.Lock()
        self._status = "pending"
        self.error: LabError | None = None  # what went wrong, in catalogue form
        self.result: Any = None
        self._fraction = 0.0
        self._stop, self._resume = threading.Event(), threading.Event()
        self._resume.set()
        self._first_step = threading.Event()  # set after the first unit of work (or at the end)
        self._new_lr: float | None = None
        self._started: float | None = None
        self._ended: float | None = None
        self._paused_at: float | None = None
        self._queued_at: float | None = None
        self._ended_evt = threading.Event()
        self._on_end: Callable[[], None] | None = None  # the engine's wake-up: a slot may be free
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}-{self.id}", daemon=True)

    # -- control (any thread) ---------------------------------------------------------------------
    def start(self) -> Job:
        self._thread.start()
        return self

    def pause(self) -> None:
        with self._lock:
            if self._status != "running":
                return
            self._status, self._paused_at = "paused", time.monotonic()
            self._resume.clear()

    def resume(self) -> None:
        with self._lock:
            if self._status != "paused":
                return
            self._status, self._paused_at = "running", None
            self._resume.set()

    def stop(self) -> None:
        # "stopping" at once, not "paused": a page that stopped polling while paused polls again and sees
        # the end (the thread may still need a moment: a last evaluation, an autoencoder's PCA comparison).
        # A job still waiting in the queue has no thread: it leaves the queue, stopped.
        with self._lock:
            waiting = self._status == "queued"
            if self._status in ACTIVE and not waiting:
                self._status = "stopping"
        self._stop.set()
        self._resume.set()
        if waiting:
            self._end("stopped")

    def set_lr(self, lr: float) -> bool:
        """Ask for a new learning rate from the next batch on; False when this kind of job keeps its own."""
        if not self.can_set_lr:
            return False
        self._new_lr = float(lr)
        return True

    def wait_first_step(self, timeout: float = 0.4) -> bool:
        """Block until the first unit of work is done (or the job ended), at most `timeout` seconds.

        A page calls this right after starting a job, so the rerun that follows the click already draws
        the first points instead of waiting for the next poll (up to half a second later)."""
        return self._first_step.wait(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the job has ended (a queued job first waits for its turn); True if it has."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._ended_evt.wait(timeout):
            return False
        if self._thread.ident is not None:
            self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    # -- reading (any thread) ---------------------------------------------------------------------
    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def done(self) -> bool:
        return self.status in ENDED

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def seconds(self) -> float:
        """Time since the thread started (until it ended)."""
        return ((self._ended or time.perf_counter()) - self._started) if self._started else 0.0

    def holds_slot(self, now: float, pause_grace_s: float) -> bool:
        """Does this job count against the engine's capacity? A long pause gives its slot back."""
        with self._lock:
            if self._status == "paused":
                return self._paused_at is not None and now - self._paused_at < pause_grace_s
            return self._status in ACTIVE and self._status != "queued"

    def progress(self) -> Progress:
        """The share done as reported by `report()`, the time so far and an estimate of the time left."""
        return self._timed(Progress(fraction=self._fraction))

    def _timed(self, p: Progress) -> Progress:
        """Fill in the elapsed time, and a time left from the share done when the job did not say better."""
        p.elapsed_s = self.seconds
        if self.done:
            p.eta_s = 0.0
        elif math.isnan(p.eta_s) and p.fraction > 0.02:
            p.eta_s = p.elapsed_s * (1 - p.fraction) / p.fraction
        return p

    # -- the thread ---------------------------------------------------------------------------------
    def report(self, fraction: float) -> None:
        """The thread says how far it is, in [0, 1]."""
        self._fraction = min(max(float(fraction), 0.0), 1.0)
        self._first_step.set()

    def checkpoint(self) -> bool:
        """Between units of work: the first one is done; wait while paused. False once asked to stop."""
        self._first_step.set()
        while not self._resume.is_set() and not self._stop.is_set():
            self._resume.wait(0.05)
        return not self._stop.is_set()

    def sleep(self, seconds: float) -> bool:
        """A deliberate delay (slow motion) that wakes at once when the job is stopped. True if stopped."""
        return self._stop.wait(seconds) if seconds > 0 else self._stop.is_set()

    def take_new_lr(self) -> float | None:
        lr, self._new_lr = self._new_lr, None
        return lr

    def _set_status(self, status: str) -> None:
        with self._lock:
            if self._status not in ENDED and self._status != "stopping":  # both are final from the outside
                self._status = status

    def _end(self, status: str, error: LabError | None = None) -> None:
        with self._lock:
            if self._status in ENDED:
                return
            self._status, self.error = status, error
        self._ended = time.perf_counter()
        self._first_step.set()
        self._ended_evt.set()
        if self._on_end is not None:
            self._on_end()

    def _run(self) -> None:
        """The thread: `_work` works; whatever goes wrong ends the job with a sentence for the page."""
        self._started = time.perf_counter()
        try:
            torch.set_num_threads(max(1, self.threads))  # per thread in torch's OpenMP build
            self._set_status("running")
            self._work()
            self._end("stopped" if self._stop.is_set() else "finished")
        except LabError as e:
            self._end("failed", e)
        except Exception as e:  # the page shows a sentence, the server log keeps the traceback
            log.error("%s %s failed:\n%s", type(self).__name__, self.id, traceback.format_exc())
            self._end("failed", LabError(self.failure_key, error=f"{type(e).__name__}: {e}"))
        finally:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def _work(self) -> None:
        raise NotImplementedError


class Engine:
    """Every job of every session in this process, one capacity for all of them.

    `alive(owner)` (optional) tells whether a session still exists at all (Streamlit keeps a disconnected
    session for a while so that it can reconnect); without it a detached owner counts as gone after
    `forget_after_s`.
    """

    def __init__(self, max_running: int | None = None, *, keep_per_owner: int = 8, keep_total: int = 64,
                 keep_tasks: int = 48, pause_grace_s: float = 120.0, orphan_grace_s: float = 30.0,
                 forget_after_s: float = 300.0, alive: Callable[[str], bool | None] | None = None,
                 waiting_per_owner: int = 2, short_lane: int = 1):
        self.max_running = max_running or capacity()
        self.waiting_per_owner, self.short_lane = waiting_per_owner, short_lane
        self.keep_per_owner, self.keep_total, self.keep_tasks = keep_per_owner, keep_total, keep_tasks
        self.pause_grace_s, self.orphan_grace_s, self.forget_after_s = pause_grace_s, orphan_grace_s, forget_after_s
        self.alive = alive
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._tasks: OrderedDict[Hashable, Job] = OrderedDict()  # keyed background computations
        self._detached: dict[str, float] = {}  # owner -> when its connection went away
        self._reaper: threading.Thread | None = None
        self._closed = threading.Event()
        self._queue: list[Job] = []  # waiting for a slot, in the order they came
        self._wake = threading.Event()
        self._dispatcher: threading.Thread | None = None
        self._durations: dict[str, list[float]] = {}  # kind -> seconds of recent runs, for the wait estimate
        self._served: dict[str | None, int] = {}  # owner -> the turn its last job started in (round-robin)
        self._turn = 0
        # Called with every job as it ends, on the job's thread (labcore.tracking records runs here): each
        # must return at once; one that raises is logged and never stops the others or the job.
        self.on_finished: list[Callable[[Job], Any]] = []

    # -- jobs ---------------------------------------------------------------------------------------
    def submit(self, job_or_cfg: Any, owner: str | None = None, job_class: Callable[..., Job] | None = None) -> Job:
        """Queue a job, which starts at once when a slot is free: a `Job` as it is, or `job_class(cfg, owner,
        threads=...)` (a TrainingJob by default). Its status is "queued" until its turn (`place_in_line`).

        Raises LabError("engine.queue_full") when this session already has `waiting_per_owner` jobs waiting."""
        with self._lock:
            self._forget_old()
            if isinstance(job_or_cfg, Job):
                job = job_or_cfg
                job.owner = job.owner if owner is None else owner
            else:
                if job_class is None:  # a Train-page run: here, or on Ray when LAB_RAY_ADDRESS says so
                    from labcore.cluster import training_job_class

                    job_class = training_job_class()
                job = job_class(job_or_cfg, owner)
            waiting = [j for j in self._queue if j.owner == job.owner and j.short == job.short and j.status == "queued"]
            if job.owner is not None and len(waiting) >= self.waiting_per_owner * (2 if job.short else 1):
                raise LabError("engine.queue_full", waiting=len(waiting))
            with job._lock:
                if job._status == "pending":
                    job._status = "queued"
            job._queued_at, job._on_end = time.monotonic(), partial(self._job_ended, job)
            self._jobs[job.id] = job
            self._queue.append(job)
            self._dispatch()
            if self._queue and (self._dispatcher is None or not self._dispatcher.is_alive()):
                self._dispatcher = threading.Thread(target=self._dispatch_loop, name="engine-queue", daemon=True)
                self._dispatcher.start()
        return job

    def running(self) -> list[Job]:
        """The jobs that hold a slot now."""
        now = time.monotonic()
        with self._lock:
            return [j for j in self._jobs.values() if j.holds_slot(now, self.pause_grace_s)]

    def queued(self) -> list[Job]:
        """The jobs waiting for a slot, in the order the queue will serve them if nothing else changes."""
        with self._lock:
            return self._order(self._queue)

    # -- the queue ------------------------------------------------------------------------------------
    # Fair across sessions, round-robin: the next job belongs to the session served longest ago (never served
    # first), the oldest of its jobs; so one session's second run waits behind everybody's first. Short jobs
    # (explanations, LR finders: seconds) have a lane of their own, `short_lane` slots beyond the capacity,
    # so a student asking for a Grad-CAM never waits behind thirty training runs. Preempting a long run
    # between epochs would also serve short jobs, but it stalls a student's live curves and every job kind
    # would need to save and restore its state; the lane needs neither.
    def _order(self, queue: list[Job]) -> list[Job]:
        served = dict(self._served)
        turn = self._turn
        order, left = [], [j for j in queue if j.status == "queued"]
        while left:
            nxt = min(left, key=lambda j: (served.get(j.owner, -1), j._queued_at or 0.0))
            order.append(nxt)
            left.remove(nxt)
            turn += 1
            served[nxt.owner] = turn
        return order

    def _fits(self, job: Job, running: list[Job]) -> bool:
        if job.short:
            return len(running) < self.max_running + self.short_lane
        return sum(not j.short for j in running) < self.max_running and len(running) < self.max_running + self.short_lane

    def _dispatch(self) -> None:
        """Start every queued job that fits, fairest first."""
        with self._lock:
            self._queue = [j for j in self._queue if j.status == "queued"]
            while True:
                running = self.running()
                nxt = next((j for j in self._order(self._queue) if self._fits(j, running)), None)
                if nxt is None:
                    return
                self._queue.remove(nxt)
                self._turn += 1
                self._served[nxt.owner] = self._turn
                train = getattr(nxt.config, "train", None)
                nxt.threads = getattr(train, "num_threads", 0) or spare_threads(len(running))
                with nxt._lock:
                    nxt._status = "pending"
                nxt.start()

    def _dispatch_loop(self) -> None:
        # Woken when a job ends; a timed look too, for a paused job whose grace ran out (it frees its slot).
        while not self._closed.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            with self._lock:
                self._dispatch()
                if not self._queue:
                    self._dispatcher = None
                    return

    def place_in_line(self, job: Job) -> tuple[int, float] | None:
        """(1-based place, estimated seconds until it starts) for a queued job; None once it is not waiting.

        The estimate plays the queue forward: each running job ends after its own time left (or the typical
        time of its kind), each waiting job then runs for the typical time of its kind (recent runs' median)."""
        with self._lock:
            if job.status != "queued":
                return None
            running = self.running()
            order = self._order(self._queue)
            if job not in order:
                return None
            place = [j for j in order if j.short == job.short].index(job) + 1  # in its own lane
            lane = [j for j in running if j.short == job.short] if job.short else [j for j in running if not j.short]
            slots = self.short_lane if job.short else self.max_running
            ends = sorted(self._left(j) for j in lane)[:slots]
            ends += [0.0] * (slots - len(ends))
            for other in (j for j in order if j.short == job.short):
                start = min(ends)
                if other is job:
                    return place, start
                ends[ends.index(start)] = start + self._typical(other.kind)
            return place, 0.0

    def _left(self, job: Job) -> float:
        eta = job.progress().eta_s
        return eta if math.isfinite(eta) else max(0.0, self._typical(job.kind) - job.seconds)

    def _typical(self, kind: str) -> float:
        seen = sorted(self._durations.get(kind, ()))
        return seen[len(seen) // 2] if seen else (5.0 if kind == "task" else 30.0)

    def _job_ended(self, job: Job) -> None:
        """Called by a job as it ends (its thread, or whoever stopped it while queued): a slot may be free."""
        if job.status == "finished" and job.seconds > 0:
            times = self._durations.setdefault(job.kind, [])
            times.append(job.seconds)
            del times[:-20]
        self._wake.set()
        for hook in list(self.on_finished):
            try:
                hook(job)
            except Exception:
                log.warning("on_finished hook %r failed for %s %s:\n%s", hook, type(job).__name__, job.id,
                            traceback.format_exc())

    def get(self, job_id: str | None) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id) if job_id else None

    def jobs(self, owner: str | None = None, of: type[Job] = Job) -> list[Job]:
        """Every job (of one session, of one kind: e.g. `of=TrainingJob` leaves out background computations)."""
        with self._lock:
            return [j for j in self._jobs.values() if (owner is None or j.owner == owner) and isinstance(j, of)]

    def stop_owned_by(self, owner: str) -> int:
        """Stop every live job of one session; returns how many."""
        live = [j for j in self.jobs(owner) if not j.done]
        for j in live:
            j.stop()
        return len(live)

    def stop_all(self, wait: float = 0.0) -> None:
        for j in self.jobs():
            j.stop()
        for j in self.jobs():
            j.join(wait)

    def close(self, wait: float = 0.0) -> None:
        """Stop everything and the reaper (tests, server shutdown)."""
        self._closed.set()
        self.stop_all(wait)

    # -- keyed background computations (SHAP, ideal image, localisation...) ----------------------------
    def task(self, key: Hashable, fn: Callable[..., Any], *args: Any, owner: str | None = None,
             retry: bool = False, **kwargs: Any) -> Job:
        """The job computing `fn(*args, **kwargs)` for `key`: the existing one (running, done, or failed:
        a failure stays on screen and is not retried by itself) unless `retry`; else a new one.

        The same key asked from two tabs is computed once. Raises LabError("engine.queue_full") when the
        session already has that many computations waiting."""
        from labcore.tasks import Task

        with self._lock:
            old = self._tasks.get(key)
            if old is not None and not (retry and old.status in ("failed", "stopped")):
                self._tasks.move_to_end(key)
                return old
            job = self.submit(Task(fn, *args, owner=owner, **kwargs))
            self._tasks[key] = job
            self._tasks.move_to_end(key)
            return job

    def find_task(self, key: Hashable) -> Job | None:
        with self._lock:
            return self._tasks.get(key)

    # -- sessions -------------------------------------------------------------------------------------
    def attach(self, owner: str) -> None:
        """A session is (again) connected: its jobs are safe."""
        with self._lock:
            self._detached.pop(owner, None)

    def detach(self, owner: str) -> None:
        """A session's connection closed (a tab closed, or a network blip): its jobs go on for
        `orphan_grace_s`, then stop unless it came back; a reaper thread watches."""
        with self._lock:
            self._detached.setdefault(owner, time.monotonic())
            if self._reaper is None or not self._reaper.is_alive():
                self._reaper = threading.Thread(target=self._reap_loop, name="engine-reaper", daemon=True)
                self._reaper.start()

    def present(self, owner: str, now: float | None = None) -> bool:
        """Is this session still here by the jobs' rule: not gone, and connected or away for less than the
        grace (a reconnect within it keeps everything)? Things a session starts besides jobs (a serving demo)
        end by the same rule."""
        if self._gone(owner):
            return False
        with self._lock:
            since = self._detached.get(owner)
        return since is None or (time.monotonic() if now is None else now) - since < self.orphan_grace_s

    def reap(self, now: float | None = None) -> int:
        """Stop the jobs of sessions gone for good, or away for longer than the grace; returns how many."""
        now = time.monotonic() if now is None else now
        stopped = 0
        with self._lock:
            detached = dict(self._detached)
        for owner, since in detached.items():
            gone = self._gone(owner)
            if gone or now - since >= self.orphan_grace_s:
                n = self.stop_owned_by(owner)
                if n:
                    log.info("session %s away for %.0f s; stopped %d job(s)", owner, now - since, n)
                stopped += n
            if gone or now - since >= self.forget_after_s:
                with self._lock:  # the session can never read its jobs again: forget them once they ended
                    mine = [j for j in self._jobs.values() if j.owner == owner]
                    for j in mine:
                        if j.done:
                            del self._jobs[j.id]
                    if self._detached.get(owner) == since and all(j.done for j in mine):
                        del self._detached[owner]
        return stopped

    def _gone(self, owner: str) -> bool:
        if self.alive is None:
            return False
        try:
            return self.alive(owner) is False
        except Exception:  # a check that fails must not stop anybody's work
            return False

    def _reap_loop(self) -> None:
        while not self._closed.wait(1.0):
            self.reap()
            with self._lock:
                if not self._detached:
                    self._reaper = None
                    return

    def _forget_old(self) -> None:
        """Keep the newest `keep_per_owner` ended jobs of each session, `keep_total` in all, and the newest
        `keep_tasks` ended computations (their results are what the cache holds)."""
        ended = sorted((j for j in self._jobs.values() if j.done), key=lambda j: j.created, reverse=True)
        tasks = {id(j) for j in self._tasks.values()}
        per_owner: dict[str | None, int] = {}
        kept = 0
        for j in ended:
            if id(j) in tasks:
                continue
            per_owner[j.owner] = per_owner.get(j.owner, 0) + 1
            kept += 1
            if per_owner[j.owner] > self.keep_per_owner or kept > self.keep_total:
                del self._jobs[j.id]
        done_tasks = [k for k, j in self._tasks.items() if j.done]
        for k in done_tasks[: max(0, len(done_tasks) - self.keep_tasks)]:
            self._jobs.pop(self._tasks.pop(k).id, None)
        owners = {j.owner for j in self._jobs.values()}
        for o in [o for o in self._served if o not in owners]:  # sessions gone for good
            del self._served[o]
