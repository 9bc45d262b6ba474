"""Run history for the Attention and Beyond classification pages (issue 17): a finished job lands in a real MLflow
SQLite store with its params, per-epoch curves and final scores, and its link reopens its setup on its own page."""

from __future__ import annotations

from dataclasses import replace

import pytest

from labcore import links, tracking
from labcore.beyond.train import BeyondConfig, BeyondJob
from labcore.config import DataConfig
from labcore.engine import Engine
from labcore.models import default_config
from labcore.train.compare import AttentionJob, CompareJob, compare_config, vit_config

pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("tracking_att_beyond")
    rec = tracking.Recorder(f"sqlite:///{root / 'mlflow.db'}", artifacts=root / "artifacts")
    yield rec
    rec.flush(10)


def _run(rec: tracking.Recorder, job):
    engine = Engine(max_running=1)
    engine.on_finished.append(rec.submit)
    engine.submit(job)
    assert job.join(120) and job.status == "finished", job.error
    assert rec.flush(60) and rec.failure is None, rec.failure
    return job


def _metrics(rec: tracking.Recorder, run: tracking.RunSummary) -> dict[str, float]:
    import mlflow

    return mlflow.tracking.MlflowClient(tracking_uri=rec.uri).get_run(run.run_id).data.metrics


def test_an_attention_text_run_is_recorded_and_reopens_its_setup(store):
    model = replace(default_config("transformer"), depth=3, heads=4)
    job = _run(store, AttentionJob(compare_config(DataConfig(name="recall"), [model], epochs=2, lr=3e-3)))
    (run,) = [r for r in store.runs() if r.page == "attention" and r.model == "transformer"]
    c = job.contenders[0]
    assert (run.dataset, run.optimizer, run.lr, run.epochs) == ("recall", "adam", 0.003, 2)
    assert run.test_accuracy == pytest.approx(c.test_acc) and _metrics(store, run)["test_loss"] == pytest.approx(c.test_loss)
    assert store.history(run.run_id, "val_acc") == [(int(e["epoch"]), pytest.approx(e["val_acc"]))
                                                   for e in c.trainer.log.epochs]
    page, query = tracking.link_of(run)
    values, ignored = links.read(page, query)
    assert page == "attention" and ignored == []
    assert (values["panel"], values["text.data"], values["text.layers"], values["text.heads"], values["text.epochs"]) == (
        "text", "recall", 3, 4, 2)
    assert tracking.record_of(_run(store, CompareJob(job.config))) == []  # a plain comparison: another page's


def test_an_attention_vit_run_reopens_the_vit_tab(store):
    job = _run(store, AttentionJob(vit_config("digits", epochs=1, width=32)))
    (run,) = [r for r in store.runs() if r.page == "attention" and r.model == "vit"]
    assert run.test_accuracy == pytest.approx(job.contenders[0].test_acc)
    values, ignored = links.read(*tracking.link_of(run))
    assert ignored == [] and (values["panel"], values["vit.data"], values["vit.epochs"], values["vit.width"]) == (
        "vit", "digits", 1, 32)


@pytest.mark.parametrize("task", ["segment", "detect"])
def test_a_beyond_run_is_recorded_with_its_scores_and_reopens_its_setup(store, task):
    cfg = BeyondConfig(task=task, epochs=2, n_train=128, seed=3, skips=task != "segment")
    job = _run(store, BeyondJob(cfg))
    (run,) = [r for r in store.runs() if r.page == "beyond" and r.params.get("task") == task]
    scores = job.scores()
    assert run.epochs == 2 and run.optimizer == "adam" and run.lr == pytest.approx(cfg.lr)
    metrics = _metrics(store, run)
    last = scores[-1]
    if task == "segment":
        assert metrics["test_iou"] == pytest.approx(last.iou) and metrics["test_dice"] == pytest.approx(last.dice)
        assert store.history(run.run_id, "dice") == [(s.epoch, pytest.approx(s.dice)) for s in scores]
    else:
        assert run.test_accuracy == pytest.approx(last.accuracy)
        assert metrics["test_box_iou"] == pytest.approx(last.iou) and metrics["test_hits"] == pytest.approx(last.hits)
        assert store.history(run.run_id, "box_loss") == [(s.epoch, pytest.approx(s.box_loss)) for s in scores]
    # the training loss exists from the first epoch on (epoch 0 is the untrained net's test score)
    assert store.history(run.run_id, "loss") == [(s.epoch, pytest.approx(s.train_loss)) for s in scores[1:]]
    assert store.history(run.run_id, "iou") == [(s.epoch, pytest.approx(s.iou)) for s in scores]
    page, query = tracking.link_of(run)
    values, ignored = links.read(page, query)
    tab = "seg" if task == "segment" else "det"
    assert page == "beyond" and ignored == [] and values["panel"] == task
    assert (values[f"{tab}.epochs"], values[f"{tab}.train"], values[f"{tab}.seed"]) == (2, 128, 3)
    if task == "segment":
        assert values["seg.skips"] is False
