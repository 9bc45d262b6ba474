"""Background training jobs: lifecycle, stop/pause/resume/new lr, failures, and the job registry."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from labcore.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from labcore.i18n import LabError
from labcore.models import default_config
from labcore.train.job import ACTIVE, ENDED, Engine, Outcome, TrainingJob


def moons(epochs: int = 3, step_delay: float = 0.0, **optim) -> RunConfig:
    return RunConfig(
        data=DataConfig(name="moons"),
        model=default_config("mlp"),
        optim=OptimConfig(**{"lr": 0.01, **optim}),
        train=TrainConfig(epochs=epochs, step_delay=step_delay, num_threads=1),
    )


def slow_moons() -> RunConfig:
    """Still running long after any assertion: 50 epochs of 7 steps, 10 ms each (> 3 s)."""
    return moons(epochs=50, step_delay=0.01)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def n_steps(job: TrainingJob) -> int:
    return len(job.snapshot()[0])


@pytest.fixture
def jobs():
    """Jobs a test starts; all are stopped and joined afterwards, and no training thread may outlive the test."""
    started: list[TrainingJob] = []

    def start(cfg: RunConfig, owner: str | None = None) -> TrainingJob:
        job = TrainingJob(cfg, owner)
        started.append(job)
        return job.start()

    yield start
    for job in started:
        job.stop()
    for job in started:
        assert job.join(10), f"job {job.id} did not end"


@pytest.fixture
def registry():
    regs: list[Engine] = []

    def make(**kwargs) -> Engine:
        regs.append(Engine(**kwargs))
        return regs[-1]

    yield make
    for reg in regs:
        reg.stop_all(wait=10)
        assert all(j.join(0) for j in reg.jobs())


@pytest.fixture(autouse=True)
def _no_leftover_threads():
    yield
    alive = [t.name for t in threading.enumerate() if t.name.startswith("train-")]
    assert not alive, f"training threads outlived the test: {alive}"


def test_a_job_runs_to_the_end(jobs):
    job = jobs(moons(epochs=3))
    assert job.status in ("pending", "running")
    assert job.join(30)
    assert job.status == "finished" and job.done and job.error is None
    out = job.outcome
    assert isinstance(out, Outcome)
    n_test = len(job.trainer.data.y_test)
    assert out.y_prob.shape == (n_test, 2) and out.y_true.shape == (n_test,)
    assert 0.7 < out.test_accuracy <= 1 and out.test_accuracy == out.report.accuracy
    assert out.test_accuracy == pytest.approx(float(np.mean(out.y_prob.argmax(1) == out.y_true)))
    assert out.test_loss > 0 and 1 <= out.best_epoch <= 3 and not out.stopped_early
    steps, epochs = job.snapshot()
    assert len(epochs) == 3 and len(steps) == job.trainer.total_steps


def test_points_data_gets_a_live_decision_boundary(jobs):
    job = jobs(moons(epochs=2))
    assert job.join(30) and job.status == "finished"
    xx, yy, probs = job.boundary
    assert probs.shape == (80, 80, 2) and len(xx) == len(yy) == 80
    assert np.allclose(probs.sum(-1), 1, atol=1e-5)
    x = job.trainer.data.x_train.numpy()
    assert xx[0] < x[:, 0].min() and xx[-1] > x[:, 0].max()
    assert yy[0] < x[:, 1].min() and yy[-1] > x[:, 1].max()


def test_images_get_no_boundary(jobs):
    cfg = RunConfig(train=TrainConfig(epochs=1))
    job = jobs(cfg)
    assert job.join(30) and job.status == "finished"
    assert job.boundary is None
    assert job.outcome.y_prob.shape[1] == 10


def test_stop_ends_the_thread_within_a_second_and_keeps_the_result(jobs):
    job = jobs(slow_moons())
    wait_for(lambda: n_steps(job) >= 5, what="first steps")
    assert job.status == "running"
    t0 = time.perf_counter()
    job.stop()
    ended = job.join(1.0)
    assert ended and time.perf_counter() - t0 < 1.0
    assert job.status == "stopped" and job.done and job.error is None
    assert job.outcome is not None and 0 <= job.outcome.test_accuracy <= 1
    assert n_steps(job) < job.trainer.total_steps


def test_pause_freezes_and_resume_continues(jobs):
    job = jobs(slow_moons())
    wait_for(lambda: n_steps(job) >= 3, what="first steps")
    job.pause()
    assert job.status == "paused" and not job.done
    time.sleep(0.2)  # a step already under way may still land
    frozen = n_steps(job)
    assert frozen == job.trainer.step  # every step taken is on the chart while paused
    time.sleep(0.5)
    assert n_steps(job) == frozen
    job.resume()
    assert job.status == "running"
    wait_for(lambda: n_steps(job) >= frozen + 3, timeout=5, what="steps after resume")


def test_stop_while_paused(jobs):
    job = jobs(slow_moons())
    wait_for(lambda: n_steps(job) >= 2)
    job.pause()
    job.stop()
    # Not "paused" any more the moment Stop is pressed: pages stop polling a paused job, and must see it end.
    assert job.status in ("stopping", "stopped")
    job.pause()  # too late to pause: it stays on its way out
    job.resume()
    assert job.status in ("stopping", "stopped")
    assert job.join(1.0) and job.status == "stopped"


def test_set_lr_shows_up_in_later_steps(jobs):
    job = jobs(slow_moons())
    wait_for(lambda: n_steps(job) >= 5)
    job.set_lr(0.05)
    wait_for(lambda: any(r["lr"] == 0.05 for r in job.snapshot()[0]), timeout=5, what="new lr")
    wait_for(lambda: n_steps(job) >= 15)
    job.stop()
    lrs = [r["lr"] for r in job.snapshot()[0]]
    switch = lrs.index(0.05)
    assert switch >= 5
    assert set(lrs[:switch]) == {0.01} and set(lrs[switch:]) == {0.05}
    # the change is recorded where it took effect, for the charts' marks (issue 18: it was invisible)
    (step, epoch, lr), = job.lr_changes
    steps = [r["step"] for r in job.snapshot()[0]]
    assert lr == 0.05 and steps[switch] == step + 1 and epoch == pytest.approx(step / job.trainer.steps_per_epoch)


def test_huge_learning_rate_ends_as_diverged(jobs):
    job = jobs(RunConfig(optim=OptimConfig(lr=100.0), train=TrainConfig(epochs=3)))
    assert job.join(30)
    assert job.status == "diverged"
    assert isinstance(job.error, LabError) and job.error.key == "train.diverged"
    assert "100" in job.error.message()
    assert job.outcome is None
    # the message, the chart and the progress bar name the same step: the one that blew up
    step = job.error.params["step"]
    assert job.snapshot()[0][-1]["step"] == step == job.progress().step


def test_offline_dataset_ends_as_failed(jobs, data_home):
    job = jobs(RunConfig(data=DataConfig(name="mnist"), train=TrainConfig(epochs=1)))
    assert job.join(30)
    assert job.status == "failed"
    assert job.error.key == "data.offline" and str(data_home) in job.error.message()
    assert job.trainer is None and job.outcome is None
    assert job.snapshot() == ([], [])


def test_unexpected_errors_end_as_failed_with_a_sentence(jobs):
    job = jobs(
        RunConfig(data=DataConfig(name="moons"), model=default_config("cnn"), train=TrainConfig(epochs=1))
    )
    assert job.join(30)
    assert job.status == "failed" and job.error.key == "train.failed"
    assert "ValueError" in job.error.message()


def test_progress_is_sane(jobs):
    job = TrainingJob(slow_moons())
    before = job.progress()
    assert before["step"] == 0 and before["epochs"] == 50 and math.isnan(before["eta_s"])
    job = jobs(slow_moons())
    wait_for(lambda: n_steps(job) >= 20)
    p = job.progress()
    assert 0 < p["step"] <= p["total_steps"] == p["steps_per_epoch"] * 50
    assert 1 <= p["epoch"] <= 50 and 0 <= p["step_in_epoch"] <= p["steps_per_epoch"]
    assert p["samples_per_s"] > 0 and 0 < p["eta_s"] < math.inf and p["elapsed_s"] > 0
    job.stop()
    assert job.join(2)
    done = job.progress()
    assert done["step"] <= done["total_steps"] and done["eta_s"] == 0


def test_registry_caps_running_jobs(registry):
    reg = registry(max_running=1)
    first = reg.submit(slow_moons(), owner="a")
    second = reg.submit(moons(epochs=1), owner="b")
    assert second.status == "queued" and reg.running() == [first]
    assert reg.place_in_line(second)[0] == 1
    first.stop()
    assert first.join(2)
    assert second.join(30) and second.status == "finished"  # started by itself once the slot was free


def test_stop_owned_by_stops_only_that_owner(registry):
    reg = registry(max_running=3)
    a1, a2 = reg.submit(slow_moons(), owner="a"), reg.submit(slow_moons(), owner="a")
    b = reg.submit(slow_moons(), owner="b")
    wait_for(lambda: all(n_steps(j) >= 2 for j in (a1, a2, b)))
    assert reg.stop_owned_by("a") == 2
    assert a1.join(2) and a2.join(2)
    assert a1.status == a2.status == "stopped"
    assert b.status == "running" and not b.join(0.3)
    assert reg.stop_owned_by("a") == 0
    assert reg.jobs("b") == [b] and set(reg.jobs("a")) == {a1, a2}
    assert reg.get(b.id) is b and reg.get(None) is None and reg.get("nope") is None


def test_finished_jobs_are_kept_per_session(registry):
    reg = registry(max_running=1, keep_per_owner=2)
    other = reg.submit(moons(epochs=1), owner="other tab")
    assert other.join(30)
    done = []
    for _ in range(4):
        job = reg.submit(moons(epochs=1), owner="busy tab")
        assert job.join(30) and job.status == "finished"
        done.append(job)
    assert len(reg.jobs("busy tab")) == 3  # the two latest finished ones plus the newest
    assert reg.get(done[0].id) is None
    assert reg.get(done[-1].id) is done[-1]
    assert reg.jobs("other tab") == [other]  # one tab's runs never evict another's


def test_statuses_are_partitioned():
    assert set(ACTIVE).isdisjoint(ENDED)
    assert {"queued", "pending", "running", "paused", "stopping"} == set(ACTIVE)
    assert {"stopped", "finished", "diverged", "failed"} == set(ENDED)
    from labcore.i18n import t

    for status in ACTIVE + ENDED:  # every status the progress lines can show has words (t raises if not)
        assert t(f"status.{status}")


def test_jobs_leave_a_core_free_and_share_the_rest():
    from labcore.train.job import spare_threads

    assert spare_threads(0, cores=2) == 1 and spare_threads(1, cores=2) == 1
    assert spare_threads(0, cores=8) == 7 and spare_threads(1, cores=8) == 3
    assert spare_threads(0, cores=1) == 1


def test_wait_first_step_returns_once_a_batch_is_logged(jobs):
    job = jobs(moons(epochs=50))
    assert job.wait_first_step(5.0)
    assert len(job.snapshot()[0]) >= 1  # the first step is read back at once, so it is on the chart
    job.stop()


def test_wait_first_step_gives_up_when_the_job_fails_early():
    job = TrainingJob(RunConfig(data=DataConfig(name="no-such-data"))).start()
    assert job.wait_first_step(5.0)  # returns at the end, not after the timeout
    assert job.join(1.0) and job.status == "failed"


def test_restore_best_weights_without_early_stopping(jobs):
    """Issue 18 item 5: "best epoch 22 / 25" while the test scores came from epoch 25's weights. The outcome
    says which weights were tested, and "restore best weights" works with early stopping off."""
    from labcore.config import ModelConfig

    def overfit(restore_best: bool) -> RunConfig:  # a wide MLP on 200 noisy moons: the best epoch is not the last
        return RunConfig(data=DataConfig(name="moons", noise=0.35, n_samples=200),
                         model=ModelConfig(name="mlp", depth=3, width=128, batch_norm=False), optim=OptimConfig(lr=3e-2),
                         train=TrainConfig(epochs=25, batch_size=16, num_threads=1, restore_best=restore_best))

    last, best = jobs(overfit(False)), jobs(overfit(True))
    assert last.join(60) and best.join(60)
    assert last.status == best.status == "finished"
    epochs = last.snapshot()[1]
    assert last.outcome.best_epoch == best.outcome.best_epoch < len(epochs) == 25  # same seed, same run
    assert not last.outcome.restored_best and best.outcome.restored_best
    assert not best.outcome.stopped_early
    val = {name: job.trainer.evaluate(job.trainer.val_x, job.trainer.val_y)[0] for name, job in
           (("last", last), ("best", best))}
    assert val["last"] == pytest.approx(epochs[-1]["val_loss"], rel=1e-6)  # tested: the last epoch's weights
    assert val["best"] == pytest.approx(min(e["val_loss"] for e in epochs), rel=1e-6)  # tested: the best epoch's
    assert val["best"] < val["last"]
    assert best.outcome.test_loss != last.outcome.test_loss
