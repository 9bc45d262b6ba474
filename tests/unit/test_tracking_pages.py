"""Run history for the Transfer, Sequences, Autoencoders, Attention and Beyond classification pages (issue 17):
a finished job of each lands in a real MLflow SQLite store with its params, its per-epoch curves and its final
scores, and its setup comes back as a link to its own page (labcore.links reads it to exactly the values the job
ran with)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from labcore import links, tracking
from labcore.autoencoders import AEConfig, AutoencoderJob
from labcore.beyond.train import BeyondConfig, BeyondJob
from labcore.config import DataConfig, TrainConfig
from labcore.engine import Engine
from labcore.models import default_config
from labcore.train.compare import AttentionJob, CompareJob, SequencesJob, compare_config, vit_config
from labcore.transfer.job import TransferConfig, TransferJob

pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("tracking_pages")
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


def _curve(rec: tracking.Recorder, run: tracking.RunSummary, key: str, epochs: list[dict]) -> None:
    assert rec.history(run.run_id, key) == [(int(e["epoch"]), pytest.approx(e[key])) for e in epochs]


def test_a_sequences_forecast_is_recorded_per_model_and_reopens_its_setup(store):
    models = [default_config("lstm"), default_config("conv1d")]
    cfg = compare_config(DataConfig(name="sines", seq_len=20, horizon=2), models, epochs=2, lr=3e-3)
    job = _run(store, SequencesJob(cfg))
    runs = sorted((r for r in store.runs() if r.page == "sequences" and r.dataset == "sines"), key=lambda r: r.model)
    assert [(r.model, r.optimizer, r.lr, r.epochs) for r in runs] == [("conv1d", "adam", 0.003, 2), ("lstm", "adam", 0.003, 2)]
    import mlflow

    client = mlflow.tracking.MlflowClient(tracking_uri=store.uri)
    for r in runs:
        c = next(c for c in job.contenders if c.name == r.model)
        _curve(store, r, "val_loss", c.trainer.log.epochs)
        metrics = client.get_run(r.run_id).data.metrics
        assert metrics["test_loss"] == pytest.approx(c.test_loss)
        assert metrics["test_mae"] > 0 and metrics["test_rmse"] >= metrics["test_mae"]  # on the series' own scale
        page, query = tracking.link_of(r)
        values, ignored = links.read(page, query)
        assert page == "sequences" and ignored == []
        assert (values["forecast.series"], values["forecast.window"], values["forecast.horizon"]) == ("sines", 20, 2)
        assert values["forecast.models"] == ("lstm", "conv1d") and values["forecast.epochs"] == 2


def test_a_sequences_memory_run_records_accuracy_and_a_plain_comparison_is_not_recorded(store):
    cfg = compare_config(DataConfig(name="recall", seq_len=12, n_samples=300, noise=0.1), [default_config("gru")],
                         epochs=2, lr=3e-3)
    job = _run(store, SequencesJob(cfg))
    (run,) = [r for r in store.runs() if r.page == "sequences" and r.dataset == "recall"]
    assert run.test_accuracy == pytest.approx(job.contenders[0].test_acc) and run.params["sequences.tab"] == "memory"
    _curve(store, run, "val_acc", job.contenders[0].trainer.log.epochs)
    page, query = tracking.link_of(run)
    values, _ = links.read(page, query)
    assert (values["memory.length"], values["memory.distractors"], values["memory.models"]) == (12, 0.1, ("gru",))
    other = _run(store, CompareJob(cfg))  # the Attention and Convolution pages' comparisons are not this page's runs
    assert tracking.record_of(other) == []


def test_an_autoencoder_run_is_recorded_with_its_losses_and_reopens_its_setup(store):
    cfg = AEConfig(data=DataConfig(name="digits"), train=TrainConfig(epochs=5, batch_size=64, seed=3, num_threads=1),
                   model="vae", latent_dim=3, width=64, lr=3e-3, noise=0.1, beta=0.3, holdout=(1, 7))
    job = _run(store, AutoencoderJob(cfg))
    (run,) = [r for r in store.runs() if r.page == "autoencoders"]
    assert (run.dataset, run.model, run.optimizer, run.lr, run.epochs) == ("digits", "vae", "adam", 0.003, 5)
    _, epochs = job.snapshot()
    for key in ("loss", "val_loss", "recon", "kl", "val_recon"):
        _curve(store, run, key, epochs)
    import mlflow

    metrics = mlflow.tracking.MlflowClient(tracking_uri=store.uri).get_run(run.run_id).data.metrics
    assert metrics["test_recon"] == pytest.approx(job.outcome.test_recon)
    assert metrics["pca_test_recon"] == pytest.approx(job.outcome.pca_test_recon)
    assert metrics["anomaly_auc"] == pytest.approx(job.outcome.scores.roc()[3])  # classes 1 and 7 were held out
    page, query = tracking.link_of(run)
    values, ignored = links.read(page, query)
    assert page == "autoencoders" and ignored == []
    assert values == {"data.name": "digits", "model": "vae", "latent_dim": 3, "width": 64, "noise": 0.1, "beta": 0.3,
                      "train.epochs": 5, "lr": 0.003, "train.batch_size": 64, "train.seed": 3, "holdout": (1, 7)}


def test_a_transfer_race_is_recorded_per_strategy_and_reopens_its_setup(store):
    cfg = TransferConfig(strategies=("features", "scratch"), lr=3e-3, train=TrainConfig(epochs=2, batch_size=16,
                                                                                         seed=4, num_threads=1))
    job = _run(store, TransferJob(cfg))
    runs = {r.params["transfer.strategy"]: r for r in store.runs() if r.page == "transfer"}
    assert set(runs) == {"features", "scratch"}
    for result in job.results:
        r = runs[result.strategy]
        assert (r.dataset, r.model, r.epochs) == ("digits_5_9", "lab_digits", 2)
        assert r.test_accuracy == pytest.approx(result.test_accuracy)
        _curve(store, r, "val_acc", job.race.lanes[result.strategy].log.epochs)
        page, query = tracking.link_of(r)
        values, ignored = links.read(page, query)
        assert page == "transfer" and ignored == []
        assert (values["strategies"], values["lr"], values["train.epochs"], values["train.seed"]) == (
            ("features", "scratch"), 0.003, 2, 4)


def test_runs_of_other_pages_have_no_link_and_the_filters_know_every_page():
    run = tracking.RunSummary("x", 0, "race", "digits", "mlp", "adam", 0.01, 2, 0.9, "finished", "n")
    assert tracking.link_of(run) is None  # a race contender is one lane of a race, not a page's setup
    values, ignored = links.read("runs", {"pages": "transfer,sequences,autoencoders", "model": "vae,lab_digits",
                                          "data": "digits_5_9"})
    assert ignored == [] and values["pages"] == ("transfer", "sequences", "autoencoders")
    odd = tracking.RunSummary("y", 0, "elsewhere", "", "", "", None, None, None, "finished", "")
    assert tracking.link_of(odd) is None


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
