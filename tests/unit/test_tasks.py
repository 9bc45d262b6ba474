"""Background tasks: results come back, progress is reported, errors become plain messages, keys dedupe."""

from __future__ import annotations

import threading

from labcore.i18n import LabError
from labcore.tasks import Task, TaskStore


def test_a_task_returns_its_result_and_reports_progress():
    seen = []

    def work(n, progress=None):
        for i in range(n):
            progress((i + 1) / n)
            seen.append(i)
        return sum(seen)

    task = Task(work, 4).start()
    assert task.join(5)
    assert task.status == "done" and task.result == 6 and task.progress == 1.0


def test_a_failing_task_keeps_a_readable_error_and_no_exception_escapes():
    def boom():
        raise ValueError("bad shape")

    task = Task(boom).start()
    task.join(5)
    assert task.status == "failed"
    assert "bad shape" in task.error.message()
    def offline():
        raise LabError("data.offline", name="MNIST", root="/x", reason="no network")

    task = Task(offline).start()
    task.join(5)
    assert task.error.key == "data.offline"


def test_the_store_runs_one_task_per_key_and_retries_failures():
    gate = threading.Event()
    calls = []

    def slow(x):
        calls.append(x)
        gate.wait(5)
        return x * 2

    store = TaskStore()
    a = store.submit("k", slow, 3)
    b = store.submit("k", slow, 3)
    assert a is b
    gate.set()
    a.join(5)
    assert a.result == 6 and calls == [3]

    flaky = store.submit("f", lambda: 1 / 0)
    flaky.join(5)
    assert flaky.status == "failed"
    again = store.submit("f", lambda: 1)
    again.join(5)
    assert again is not flaky and again.result == 1


def test_the_store_forgets_the_oldest_finished_tasks():
    store = TaskStore(max_entries=3)
    for i in range(6):
        store.submit(i, lambda i=i: i).join(5)
    assert len(store) == 3 and store.get(0) is None and store.get(5).result == 5
