"""One-off background computations (SHAP values, an ideal-class image, localisation over a test set) as
engine jobs: each runs once in a daemon thread and reports its progress, so a page can draw a bar and stay
usable instead of freezing while it waits.

`Engine.task(key, fn, ...)` keeps them by key, so the same request (same model, image and settings) is
computed once, its result reused by every tab, and a failure stays visible until someone asks again.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from labcore.engine import Job


class Task(Job):
    """`fn(*args, **kwargs)` in a thread. If `fn` takes a `progress` argument it gets a callback that
    records a fraction in [0, 1] (and raises when the task is stopped, so a closed tab ends it between
    two reports); otherwise progress jumps from 0 to 1 when it ends. The value is `result`."""

    kind = "task"
    short = True  # seconds, not minutes: the queue's short lane
    failure_key = "app.task_failed"

    def __init__(self, fn: Callable[..., Any], *args: Any, owner: str | None = None, threads: int = 1,
                 **kwargs: Any):
        super().__init__(None, owner, threads)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.name = getattr(fn, "__name__", "task")

    def _progress(self, fraction: float) -> None:
        if not self.checkpoint():
            raise _Stopped
        self.report(fraction)

    def _work(self) -> None:
        kwargs = dict(self.kwargs)
        if "progress" in inspect.signature(self.fn).parameters:
            kwargs["progress"] = self._progress
        try:
            self.result = self.fn(*self.args, **kwargs)
        except _Stopped:
            return
        self.report(1.0)


class _Stopped(Exception):
    """Raised inside a task's function by its progress callback once the task is asked to stop."""
