"""`MetricLog`: the append-only, lock-protected record of a run, read by any number of threads by snapshot."""

from __future__ import annotations

import math
import threading

import numpy as np


class MetricLog:
    """Per-step rows (loss, lr, grad_norm) and per-epoch rows (train/val loss and accuracy, speed).

    The training thread appends; pages take snapshots. Rows are never changed after they are appended,
    so a snapshot is a consistent copy of the lists, not of the rows.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: list[dict[str, float]] = []
        self._epochs: list[dict[str, float]] = []

    def add_steps(self, rows: list[dict[str, float]]) -> None:
        with self._lock:
            self._steps.extend(rows)

    def add_epoch(self, row: dict[str, float]) -> None:
        with self._lock:
            self._epochs.append(row)

    def snapshot(self) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
        with self._lock:
            return list(self._steps), list(self._epochs)

    def tail(self, n: int) -> list[dict[str, float]]:
        """The last `n` step rows (cheap however long the run: the progress bar needs only these)."""
        with self._lock:
            return self._steps[-n:]

    def since(self, steps_seen: int, epochs_seen: int) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
        """The rows appended after the first `steps_seen` step rows and `epochs_seen` epoch rows.

        A page keeps what it has read and asks only for what is new: copying a 100-epoch MNIST log
        (~94,000 rows) on every poll cost ~300 ms; the new rows of one poll are a few hundred."""
        with self._lock:
            return self._steps[steps_seen:], self._epochs[epochs_seen:]

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def last_step(self) -> dict[str, float] | None:
        with self._lock:
            return self._steps[-1] if self._steps else None

    @property
    def epochs(self) -> list[dict[str, float]]:
        with self._lock:
            return list(self._epochs)


class Columns(dict):
    """Step rows as numpy columns ({"loss": array, ...}, all of one length): what charts need of a long log."""

    def __len__(self) -> int:
        return len(next(iter(self.values()))) if self.keys() else 0

    def __bool__(self) -> bool:
        return len(self) > 0


class LogReader:
    """A page's running copy of one log: each `read()` takes only the rows added since the last one and
    appends them to growing numpy columns, so a poll costs the same at step 100 and at step 100,000."""

    COLUMNS = ("step", "epoch", "loss", "acc", "lr", "grad_norm")

    def __init__(self, log: MetricLog):
        self.log = log
        self.n = 0
        self._data = {k: np.empty(1024) for k in self.COLUMNS}
        self.epochs: list[dict[str, float]] = []

    def read(self) -> tuple[Columns, list[dict[str, float]]]:
        steps, epochs = self.log.since(self.n, len(self.epochs))
        if steps:
            end = self.n + len(steps)
            if end > len(self._data["step"]):
                size = max(end, 2 * len(self._data["step"]))
                for k, a in self._data.items():
                    grown = np.empty(size)
                    grown[: self.n] = a[: self.n]
                    self._data[k] = grown
            for k, a in self._data.items():
                a[self.n : end] = [math.nan if (v := r.get(k)) is None else v for r in steps]
            self.n = end
        self.epochs.extend(epochs)
        return Columns({k: a[: self.n] for k, a in self._data.items()}), self.epochs
