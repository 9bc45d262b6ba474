"""The engine as a classroom meets it: a network blip, a closed tab, a forgotten Pause, a hostile delay,
a busy server, several tabs explaining one model, and seeded runs while other sessions train and reseed."""

from __future__ import annotations

import resource
import threading
import time

import numpy as np
import pytest
import torch

from labcore import explain as ex
from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.engine import Engine, Job
from labcore.explain.features import float_test_images
from labcore.i18n import LabError
from labcore.models import build_model
from labcore.seeding import seeded
from labcore.train.job import TrainingJob
from labcore.train.log import MetricLog
from labcore.train.trainer import Trainer


class Waiter(Job):
    """A job that works in small units until stopped (or `units` are done)."""

    def __init__(self, owner: str | None = None, units: int = 10_000, delay: float = 0.0):
        super().__init__(None, owner)
        self.units, self.delay, self.done_units = units, delay, 0

    def _work(self) -> None:
        for _ in range(self.units):
            if not self.checkpoint() or self.sleep(self.delay):
                return
            time.sleep(0.005)
            self.done_units += 1
            self.report(self.done_units / self.units)


@pytest.fixture
def engine():
    engines: list[Engine] = []

    def make(**kwargs) -> Engine:
        engines.append(Engine(**kwargs))
        return engines[-1]

    yield make
    for e in engines:
        e.close(wait=5)


def test_a_network_blip_keeps_the_sessions_jobs_running(engine):
    eng = engine(max_running=2, orphan_grace_s=2.0)
    job = eng.submit(Waiter(), owner="tab")
    eng.detach("tab")  # the websocket closed...
    time.sleep(0.5)
    eng.attach("tab")  # ... and the page reconnected to the same session
    time.sleep(2.5)  # past the grace: the reaper must have forgotten the blip
    assert job.status == "running" and eng.jobs("tab") == [job]
    job.stop()


def test_a_closed_tab_stops_its_jobs_after_the_grace_and_others_go_on(engine):
    eng = engine(max_running=2, orphan_grace_s=0.5)
    gone, staying = eng.submit(Waiter(), owner="closed tab"), eng.submit(Waiter(), owner="open tab")
    eng.detach("closed tab")
    assert gone.join(5), "the reaper did not stop the closed tab's job"
    assert gone.status == "stopped" and staying.status == "running"
    staying.stop()


def test_an_expired_session_is_stopped_at_once_and_forgotten(engine):
    alive = {"tab": True}
    eng = engine(max_running=2, orphan_grace_s=60, alive=lambda owner: alive.get(owner))
    job = eng.submit(Waiter(), owner="tab")
    eng.detach("tab")
    time.sleep(1.5)
    assert job.status == "running"  # within the grace, and Streamlit still keeps the session
    alive["tab"] = False  # Streamlit dropped the session: nobody can ever read these jobs again
    assert job.join(5) and job.status == "stopped"
    deadline = time.time() + 5
    while eng.jobs("tab") and time.time() < deadline:
        time.sleep(0.1)
    assert eng.jobs("tab") == []


def test_a_long_pause_gives_the_slot_back(engine):
    eng = engine(max_running=1, pause_grace_s=0.3)
    paused = eng.submit(Waiter(), owner="a")
    paused.wait_first_step(2)
    paused.pause()
    other = eng.submit(Waiter(), owner="b")
    assert other.status == "queued"
    assert other.wait_first_step(5)  # the forgotten pause no longer locks the class out: it started by itself
    assert other.status == "running" and paused.status == "paused"
    for j in (paused, other):
        j.stop()
        assert j.join(5)


def test_a_huge_delay_wakes_on_stop_within_a_second(engine):
    eng = engine(max_running=2)
    cfg = RunConfig().with_(data={"name": "moons"}, model={"name": "mlp"},
                            train={"epochs": 5, "step_delay": 86_400.0})
    jobs = [eng.submit(cfg, owner="tab"), eng.submit(Waiter(delay=86_400.0), owner="tab")]
    for j in jobs:
        assert j.wait_first_step(10)
    t0 = time.perf_counter()
    assert eng.stop_owned_by("tab") == 2
    assert all(j.join(1.0) for j in jobs), "a job slept through Stop"
    assert time.perf_counter() - t0 < 1.0


def test_every_job_kind_reports_progress_in_one_schema(engine):
    from labcore.engine import Progress

    eng = engine(max_running=2)
    job = eng.submit(Waiter(units=20))
    assert job.join(5)
    p = job.progress()
    assert isinstance(p, Progress) and p.fraction == 1.0 and p.eta_s == 0.0 and p["elapsed_s"] > 0
    assert TrainingJob(RunConfig()).progress().epochs == RunConfig().train.epochs
    assert Waiter().set_lr(0.1) is False and TrainingJob(RunConfig()).set_lr(0.1) is True


# -- the queue: every press of Train is served, fairly ---------------------------------------------------
def test_jobs_past_the_capacity_wait_and_start_by_themselves_in_fair_order(engine):
    eng = engine(max_running=1, short_lane=0, waiting_per_owner=3)
    first = eng.submit(Waiter(units=30), owner="greedy")
    greedy = [eng.submit(Waiter(units=5), owner="greedy") for _ in range(3)]
    others = [eng.submit(Waiter(units=5), owner=o) for o in ("b", "c")]
    assert first.status in ("pending", "running") and all(j.status == "queued" for j in greedy + others)
    # Round-robin: greedy already runs one, so b and c (who run none) come before all of greedy's waiting runs.
    assert eng.queued() == [others[0], others[1], greedy[0], greedy[1], greedy[2]]
    places = [eng.place_in_line(j) for j in eng.queued()]
    assert [p for p, _ in places] == [1, 2, 3, 4, 5]
    assert all(a < b for (_, a), (_, b) in zip(places, places[1:], strict=False))  # later in line, longer wait
    with pytest.raises(LabError) as full:  # one session cannot fill the queue
        eng.submit(Waiter(), owner="greedy")
    assert full.value.key == "engine.queue_full"
    started: list[Job] = []
    for j in [first, *eng.queued()]:
        assert j.join(10) and j.status == "finished"
        started.append(j)
    assert started[1:] == [others[0], others[1], greedy[0], greedy[1], greedy[2]]
    assert all(a._started <= b._started for a, b in zip(started, started[1:], strict=False))
    assert eng.place_in_line(first) is None and eng.queued() == []


def test_stop_takes_a_waiting_job_out_of_the_line_and_a_closed_tab_leaves_it(engine):
    eng = engine(max_running=1, short_lane=0, orphan_grace_s=0.2)
    busy = eng.submit(Waiter(), owner="a")
    mine, gone = eng.submit(Waiter(units=3), owner="b"), eng.submit(Waiter(units=3), owner="c")
    mine.stop()
    assert mine.status == "stopped" and mine.join(0.1) and mine._started is None  # never ran
    eng.detach("c")  # the tab closed while its job waited
    deadline = time.time() + 5
    while gone.status == "queued" and time.time() < deadline:
        time.sleep(0.05)
    assert gone.status == "stopped" and gone._started is None
    assert eng.queued() == [] and busy.status == "running"


def test_a_short_computation_does_not_wait_behind_long_runs(engine):
    eng = engine(max_running=1, short_lane=1)
    long_runs = [eng.submit(Waiter(), owner=o) for o in ("a", "b")]
    assert long_runs[1].status == "queued"
    quick = eng.task("gradcam", lambda: 42, owner="c")
    assert quick.join(5) and quick.result == 42  # ran in the short lane while both long runs held or waited
    assert long_runs[1].status == "queued"  # the lane is not a back door for long runs
    for j in long_runs:
        j.stop()
        assert j.join(5)


def test_capacity_follows_the_setting_then_the_hardware(monkeypatch):
    from labcore.engine import capacity

    monkeypatch.setenv("LAB_MAX_JOBS", "7")
    assert capacity() == 7
    for bad in ("0", "-3", "many", "1e9x"):
        monkeypatch.setenv("LAB_MAX_JOBS", bad)
        assert capacity(cores=2, gpus=0, free_gb=20) == 2
    monkeypatch.delenv("LAB_MAX_JOBS")
    assert capacity(cores=2, gpus=0, free_gb=20) == 2
    assert capacity(cores=16, gpus=0, free_gb=64) == 8
    assert capacity(cores=16, gpus=4, free_gb=64) == 16
    assert capacity(cores=16, gpus=0, free_gb=3.2) == 2  # memory is the limit
    assert capacity(cores=16, gpus=0, free_gb=0.5) == 1


# -- seeded runs are the same whatever else the server does ------------------------------------------------
def _seeded_run() -> list[torch.Tensor]:
    cfg = RunConfig().with_(data={"name": "digits"}, model={"name": "mlp", "dropout": 0.3, "width": 32},
                            augment={"noise_std": 0.05}, train={"epochs": 2, "seed": 7, "device": "cpu"})
    trainer = Trainer(cfg, load_dataset(cfg.data))
    trainer.fit()
    return [p.detach().clone() for p in trainer.model.parameters()]


def test_a_seeded_run_is_bit_identical_while_other_sessions_train_and_reseed():
    alone = _seeded_run()
    stop = threading.Event()

    def noisy_neighbour():  # another session: reseeds, builds models, trains with dropout and augmentations
        cfg = RunConfig().with_(data={"name": "digits"}, model={"name": "mlp", "dropout": 0.5},
                                augment={"noise_std": 0.1}, train={"epochs": 1, "device": "cpu"})
        data = load_dataset(cfg.data)
        i = 0
        while not stop.is_set():
            with seeded(i):
                torch.rand(1000)
            ex.randomised_copy(build_model(cfg.model, data), seed=i)  # unseeded build, then a reseeded copy
            Trainer(cfg.with_(train={"seed": i}), data).fit()
            i += 1

    others = [threading.Thread(target=noisy_neighbour, daemon=True) for _ in range(2)]
    for t in others:
        t.start()
    try:
        busy = _seeded_run()
    finally:
        stop.set()
        for t in others:
            t.join(30)
    for a, b in zip(alone, busy, strict=True):
        assert torch.equal(a, b)


# -- several tabs explaining one model at once -----------------------------------------------------------
def test_four_concurrent_explainers_on_one_model_give_the_maps_of_one_alone():
    model, data = ex.quick_model()
    images = float_test_images(data)[:3]
    targets = [int(t) for t in data.y_test[:3]]

    def work() -> list[np.ndarray]:
        out = []
        for img, t in zip(images, targets, strict=True):
            out += [e.attribution for e in ex.explain_all(model, img, t, methods=("gradcam", "guided_gradcam", "saliency"))]
            out += [m for _, m in ex.feature_maps(model, img)]
        return out

    reference = work()
    results: list[list[np.ndarray] | BaseException] = [None] * 4  # type: ignore[list-item]

    def run(i: int) -> None:
        try:
            results[i] = [a for _ in range(3) for a in work()]
        except BaseException as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r in results:
        assert not isinstance(r, BaseException), r
        assert len(r) == 3 * len(reference)
        for got, want in zip(r, reference * 3, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-6)


# -- memory and polling ---------------------------------------------------------------------------------
def test_polling_a_long_log_reads_only_what_is_new():
    log = MetricLog()
    row = {"step": 0, "epoch": 0.0, "loss": 1.0, "lr": 1e-3, "grad_norm": 1.0, "acc": 0.5, "time": 0.0}
    for epoch in range(100):  # 100 MNIST epochs at batch 64: 93,800 rows
        log.add_steps([{**row, "step": epoch * 938 + i} for i in range(938)])
        log.add_epoch({"epoch": epoch + 1, "val_loss": 1.0})
    seen_steps, seen_epochs = 0, 0
    t0 = time.perf_counter()
    for _ in range(20):  # twenty polls, each finding a few new rows
        log.add_steps([row] * 10)
        new_steps, new_epochs = log.since(seen_steps, seen_epochs)
        seen_steps += len(new_steps)
        seen_epochs += len(new_epochs)
        log.tail(200)
    per_poll = (time.perf_counter() - t0) / 20
    assert seen_steps == 93_800 + 200 and seen_epochs == 100
    assert per_poll < 0.02, f"a poll took {per_poll * 1000:.1f} ms"


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_memory_stays_bounded_after_50_runs_across_10_sessions(engine):
    """Each session keeps its newest runs; sessions that left are forgotten. Bound: 150 MB of growth for
    50 digits CNN runs (each run's trainer, model and predictions), measured as resident memory."""
    alive: dict[str, bool] = {}
    eng = engine(max_running=2, keep_per_owner=3, orphan_grace_s=0.0, alive=lambda o: alive.get(o))
    cfg = RunConfig().with_(train={"epochs": 1, "device": "cpu", "batch_size": 128})
    eng.submit(cfg, owner="warm-up").join(60)  # data cache, torch's allocator, lazy imports
    before = _rss_mb()
    for session in range(10):
        owner = f"s{session}"
        alive[owner] = True
        for _ in range(5):
            assert eng.submit(cfg, owner=owner).join(60)
        if session % 2:  # half of the tabs close: Streamlit drops the session, the engine forgets its runs
            alive[owner] = False
            eng.detach(owner)
            eng.reap()
    kept = eng.jobs()
    assert len(kept) <= 5 * 3 + 1 + 3, len(kept)
    assert all(len(eng.jobs(f"s{s}")) == 0 for s in range(1, 10, 2))
    grown = _rss_mb() - before
    assert grown < 150, f"server memory grew by {grown:.0f} MB"


def test_a_page_poll_of_a_100_epoch_log_reads_new_rows_into_columns_and_draws_fast():
    from labcore.train.log import LogReader
    from labcore.viz import training_curves_figure

    log = MetricLog()
    row = {"step": 0, "epoch": 0.0, "loss": 1.0, "lr": 1e-3, "grad_norm": 1.0, "acc": 0.5, "time": 0.0}
    for e in range(100):
        log.add_steps([{**row, "step": e * 938 + i, "epoch": e + i / 938, "loss": 1 / (1 + e)} for i in range(938)])
        log.add_epoch({"epoch": e + 1, "loss": 1.0, "val_loss": 1.0, "acc": 0.5, "val_acc": 0.5, "time": e})
    reader = LogReader(log)
    steps, epochs = reader.read()
    training_curves_figure(steps, epochs)  # warm plotly's validators
    times = []
    for _ in range(9):
        log.add_steps([{**row, "step": 93_800 + len(times)}] * 20)
        t0 = time.perf_counter()
        steps, epochs = reader.read()
        fig = training_curves_figure(steps, epochs)
        times.append(time.perf_counter() - t0)
    assert len(steps) == 93_800 + 180 and len(epochs) == 100
    np.testing.assert_array_equal(steps["loss"][:938], 1.0)  # the columns hold the rows, in order
    assert steps["step"][-1] == 93_808
    assert len(fig.data[0].x) <= 2000  # the chart is downsampled, spikes kept
    assert sorted(times)[4] < 0.02, f"median poll {sorted(times)[4] * 1000:.1f} ms"


def test_a_session_is_present_until_gone_or_away_longer_than_the_grace():
    alive = {"a": True, "b": True, "c": False}
    engine = Engine(max_running=1, orphan_grace_s=30, alive=lambda owner: alive.get(owner))
    assert engine.present("a") and not engine.present("c")  # c: Streamlit dropped the session
    engine.detach("b")
    now = time.monotonic()
    assert engine.present("b", now=now + 29) and not engine.present("b", now=now + 31)
    engine.attach("b")
    assert engine.present("b", now=now + 31)  # came back: present again
