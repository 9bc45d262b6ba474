"""One-off background computations (SHAP values, an ideal-class image, localisation over a test set):
each runs once in a daemon thread and reports its progress, so a page can draw a bar and stay usable
instead of freezing while it waits.

`TaskStore` keeps the latest tasks by key, so the same request (same model, image and settings) is
computed once and its result reused, and a finished result survives reruns and other tabs.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from labcore.i18n import LabError

log = logging.getLogger(__name__)


class Task:
    """`fn(*args, **kwargs)` in a thread. If `fn` takes a `progress` argument it gets a callback that
    records a fraction in [0, 1]; otherwise progress jumps from 0 to 1 when it ends."""

    def __init__(self, fn: Callable[..., Any], *args: Any, threads: int = 1, **kwargs: Any):
        self.fn, self.args, self.kwargs, self.threads = fn, args, kwargs, threads
        self.status = "waiting"  # then running, done or failed
        self.progress = 0.0
        self.result: Any = None
        self.error: LabError | None = None
        self.started = self.ended = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"task-{getattr(fn, '__name__', 'fn')}")

    def start(self) -> Task:
        self.status, self.started = "running", time.perf_counter()
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.done

    @property
    def done(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def seconds(self) -> float:
        return (self.ended or time.perf_counter()) - self.started if self.started else 0.0

    def _report(self, fraction: float) -> None:
        self.progress = min(max(float(fraction), 0.0), 1.0)

    def _run(self) -> None:
        import torch  # the threads setting is per thread: without it one task takes every core

        torch.set_num_threads(max(1, self.threads))
        kwargs = dict(self.kwargs)
        if "progress" in inspect.signature(self.fn).parameters:
            kwargs["progress"] = self._report
        try:
            self.result = self.fn(*self.args, **kwargs)
            self.progress, self.status = 1.0, "done"
        except LabError as e:
            self.error, self.status = e, "failed"
        except Exception as e:  # shown as a plain message on the page; the traceback goes to the log only
            log.error("task %s failed:\n%s", self._thread.name, traceback.format_exc())
            self.error, self.status = LabError("app.task_failed", error=f"{type(e).__name__}: {e}"), "failed"
        finally:
            self.ended = time.perf_counter()


class TaskStore:
    """Tasks by key, newest kept: asking twice for the same key returns the first task (and its result)."""

    def __init__(self, max_entries: int = 48):
        self.max_entries = max_entries
        self._tasks: OrderedDict[Hashable, Task] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Task | None:
        with self._lock:
            return self._tasks.get(key)

    def submit(self, key: Hashable, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
        """The task for `key`: the existing one unless it failed, else a new one started now."""
        with self._lock:
            task = self._tasks.get(key)
            if task is not None and task.status != "failed":
                self._tasks.move_to_end(key)
                return task
            task = Task(fn, *args, **kwargs).start()
            self._tasks[key] = task
            while len(self._tasks) > self.max_entries:  # forget the oldest finished ones
                old = next((k for k, t in self._tasks.items() if t.done), None)
                if old is None:
                    break
                del self._tasks[old]
            return task

    def __len__(self) -> int:
        return len(self._tasks)
