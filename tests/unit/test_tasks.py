"""Background computations as engine jobs: results come back, progress is reported, errors become plain
messages, one computation per key, and a failure is not retried until asked."""

from __future__ import annotations

import threading

from labcore.engine import Engine
from labcore.i18n import LabError
from labcore.tasks import Task


def test_a_task_returns_its_result_and_reports_progress():
    seen = []

    def work(n, progress=None):
        for i in range(n):
            progress((i + 1) / n)
            seen.append(i)
        return sum(seen)

    task = Task(work, 4).start()
    assert task.join(5)
    assert task.status == "finished" and task.result == 6 and task.progress().fraction == 1.0


def test_a_failing_task_keeps_a_readable_error_and_no_exception_escapes():
    def boom():
        raise ValueError("bad shape")

    task = Task(boom).start()
    task.join(5)
    assert task.status == "failed"
    assert "bad shape" in task.error.message() and task.error.key == "app.task_failed"

    def offline():
        raise LabError("data.offline", name="MNIST", root="/x", reason="no network")

    task = Task(offline).start()
    task.join(5)
    assert task.error.key == "data.offline"


def test_one_task_per_key_and_a_failure_is_not_retried_until_asked():
    engine = Engine(max_running=4)
    gate = threading.Event()
    calls = []

    def slow(x):
        calls.append(x)
        gate.wait(5)
        return x * 2

    a = engine.task("k", slow, 3)
    b = engine.task("k", slow, 3)
    assert a is b
    gate.set()
    a.join(5)
    assert a.result == 6 and calls == [3]

    failures = []

    def flaky():
        failures.append(1)
        raise ZeroDivisionError("division by zero")

    first = engine.task("f", flaky)
    first.join(5)
    for _ in range(10):  # ten reruns of a page: the failure stays, nothing runs again
        assert engine.task("f", flaky) is first
    assert first.status == "failed" and len(failures) == 1
    again = engine.task("f", lambda: 1, retry=True)  # the user pressed "Try again"
    again.join(5)
    assert again is not first and again.result == 1 and engine.find_task("f") is again


def test_tasks_count_against_the_same_capacity_and_stop_with_their_session():
    engine = Engine(max_running=1)
    gate = threading.Event()

    def wait(progress=None):
        while not gate.wait(0.01):
            progress(0.5)

    t = engine.task("a", wait, owner="tab")
    engine.short_lane = 0
    waiting = engine.task("b", lambda: 1, owner="other")
    assert waiting.status == "queued"  # no slot past the capacity: it waits its turn
    assert engine.stop_owned_by("tab") == 1
    assert waiting.join(5) and waiting.result == 1
    assert t.join(2) and t.status == "stopped"
    gate.set()


def test_the_engine_forgets_the_oldest_finished_tasks():
    engine = Engine(max_running=2, keep_tasks=3)
    for i in range(6):
        engine.task(i, lambda i=i: i).join(5)
    engine.task("last", lambda: 0).join(5)
    assert engine.find_task(0) is None and engine.find_task(5).result == 5
