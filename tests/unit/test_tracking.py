"""Run history (issue 17, labcore.tracking): finished runs land in a real MLflow SQLite store with their params and
per-epoch metrics, concurrent writers lose nothing, a broken store costs one warning and no run, the history
survives a restart, and deletion works. One store for the module: importing MLflow and creating its tables is slow."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from labcore import tracking
from labcore.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from labcore.engine import Engine
from labcore.models import default_config
from labcore.train.job import TrainingJob

pytest.importorskip("mlflow")


def digits(lr: float = 0.01, epochs: int = 2) -> RunConfig:
    return RunConfig(data=DataConfig(name="digits"), model=default_config("mlp"), optim=OptimConfig(name="adam", lr=lr),
                     train=TrainConfig(epochs=epochs, num_threads=1))


def record(i: int, tag: str = "bulk") -> tracking.RunRecord:
    now = int(time.time() * 1000)
    epochs = [{"epoch": e, "loss": 1.0 / e, "val_loss": 1.2 / e, "val_acc": 0.5 + 0.1 * e, "seconds": 0.1}
              for e in (1, 2)]
    return tracking.RunRecord("train", {"optim.lr": str(i), "data.name": "digits"},
                              {"page": "train", "dataset": "digits", "model": "mlp", "optimizer": "adam", "batch": tag},
                              epochs, {"test_accuracy": 0.9, "epochs_run": 2.0}, "finished", now - 500, now,
                              name=f"run {i}")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("tracking")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    rec = tracking.Recorder(uri, artifacts=root / "artifacts")
    yield uri, rec
    rec.flush(10)


@pytest.fixture(scope="module")
def finished(store):
    """A tiny digits run (2 epochs) run by an engine whose on_finished hook records it."""
    uri, rec = store
    engine = Engine(max_running=1)
    engine.on_finished.append(rec.submit)
    job = engine.submit(TrainingJob(digits()))
    assert job.join(60)
    assert rec.flush(60)
    return job


def test_a_finished_run_is_recorded_with_its_params_and_epoch_metrics(store, finished):
    uri, rec = store
    assert finished.status == "finished" and rec.failure is None
    runs = [r for r in rec.runs() if r.page == "train" and r.name.startswith("mlp · digits")]
    assert len(runs) == 1
    run = runs[0]
    assert (run.page, run.dataset, run.model, run.optimizer, run.lr, run.epochs) == ("train", "digits", "mlp", "adam",
                                                                                      0.01, 2)
    assert run.test_accuracy == pytest.approx(finished.outcome.test_accuracy)
    assert run.params["train.epochs"] == "2" and run.params["model.name"] == "mlp"
    assert tracking.config_of(run.params) == finished.config  # the params give back the exact setup
    _, epochs = finished.snapshot()
    for key in ("loss", "val_loss", "val_acc"):
        assert rec.history(run.run_id, key) == [(int(r["epoch"]), pytest.approx(r[key])) for r in epochs]
    import mlflow  # the same store through MLflow's own API, as `mlflow ui` reads it

    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    again = client.get_run(run.run_id)
    assert again.info.status == "FINISHED" and again.data.tags["dataset"] == "digits"
    assert "owner" not in again.data.tags


def test_eight_threads_times_five_runs_lose_nothing(store):
    _, rec = store
    threads = [threading.Thread(target=lambda k=k: [rec.add(record(10 * k + i, "concurrent")) for i in range(5)])
               for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rec.flush(60)
    runs = [r for r in rec.runs() if r.params.get("optim.lr") and r.name.startswith("run ")]
    assert sorted(int(r.params["optim.lr"]) for r in runs) == sorted(10 * k + i for k in range(8) for i in range(5))


def test_runs_survive_a_new_recorder_and_deletion_removes_them(store):
    uri, rec = store
    rec.add(record(999, "restart"))
    assert rec.flush(30)
    fresh = tracking.Recorder(uri)  # a server restart: a new process would open the same database
    mine = [r for r in fresh.runs() if r.name == "run 999"]
    assert len(mine) == 1
    assert fresh.delete([mine[0].run_id]) == 1
    assert not [r for r in fresh.runs() if r.name == "run 999"]
    assert not [r for r in rec.runs() if r.name == "run 999"]


def test_a_failing_store_warns_once_and_the_run_still_finishes(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    rec = tracking.Recorder(f"sqlite:///{blocker / 'sub' / 'mlflow.db'}", artifacts=tmp_path / "art")
    engine = Engine(max_running=1)
    engine.on_finished.append(rec.submit)
    with caplog.at_level(logging.WARNING, logger="labcore.tracking"):
        job = engine.submit(TrainingJob(digits(epochs=1)))
        assert job.join(60)
        rec.add(record(1))
        assert rec.flush(30)
    assert job.status == "finished" and job.outcome is not None
    warnings = [r for r in caplog.records if r.name == "labcore.tracking" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and rec.failure is not None and rec.written == 0


def test_a_hook_that_raises_never_breaks_the_job():
    engine = Engine(max_running=1)
    seen = []
    engine.on_finished += [lambda job: 1 / 0, seen.append]
    job = engine.submit(TrainingJob(digits(epochs=1)))
    assert job.join(60) and job.status == "finished" and seen == [job]


def test_a_race_is_recorded_as_one_run_per_contender(store):
    from labcore.train.race import Contender, RaceConfig, RaceJob, optimizer_defaults

    _, rec = store
    cfg = RaceConfig(data=DataConfig(name="digits"), model=default_config("mlp"), train=TrainConfig(epochs=2, num_threads=1),
                     contenders=(Contender(optimizer_defaults("sgd", lr=0.05)), Contender(optimizer_defaults("adam"))))
    engine = Engine(max_running=1)
    engine.on_finished.append(rec.submit)
    job = engine.submit(RaceJob(cfg))
    assert job.join(60) and job.status == "finished"
    assert rec.flush(60)
    runs = [r for r in rec.runs() if r.page == "race"]
    assert sorted((r.optimizer, r.lr, r.epochs) for r in runs) == [("adam", 0.001, 2), ("sgd", 0.05, 2)]
    for r in runs:  # each contender's curve is its own, as the race recorded it
        standing = job.standings()[int(r.params["race.contender"]) - 1]
        assert rec.history(r.run_id, "val_acc") == [(int(e["epoch"]), pytest.approx(e["val_acc"])) for e in standing.epochs]
        assert tracking.config_of(r.params) == cfg.solo(standing.index)


def test_only_train_runs_that_ended_are_recorded():
    job = TrainingJob(digits())
    assert tracking.record_of(job) == []  # never ran
    assert tracking.differing([{"a": "1", "b": "2"}, {"a": "1", "b": "3"}, {"a": "1"}]) == ["b"]
    run = tracking.RunSummary("x", 0, "train", "digits", "mlp", "adam", 0.01, 2, 0.9, "finished", "n")
    assert tracking.matches(run) and tracking.matches(run, datasets=["digits"], optimizers=["adam", "sgd"])
    assert not tracking.matches(run, models=["cnn"])


def test_switches_and_default_store(monkeypatch, tmp_path):
    monkeypatch.setenv("LABCORE_DATA", str(tmp_path))
    monkeypatch.delenv("LAB_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.default_uri() == f"sqlite:///{tmp_path.resolve() / 'tracking' / 'mlflow.db'}"
    assert tracking.ui_command().endswith(tracking.default_uri())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////x/y.db")
    assert tracking.default_uri() == "sqlite:////x/y.db"
    monkeypatch.setenv("LAB_TRACKING_URI", "sqlite:////z.db")
    assert tracking.default_uri() == "sqlite:////z.db"
    monkeypatch.setenv("LAB_TRACKING", "0")
    assert not tracking.enabled() and tracking.install(Engine(max_running=1)) is None
    monkeypatch.setenv("LAB_TRACKING", "1")
    engine = Engine(max_running=1)
    rec = tracking.install(engine)
    assert tracking.enabled() and engine.on_finished == [rec.submit] and rec.uri == "sqlite:////z.db"
