"""Run history for the Transfer, Sequences and Autoencoders pages (issue 17): a finished job of each lands in a real
MLflow SQLite store with its params, its per-epoch curves and its final scores, and its setup comes back as a link
to its own page (labcore.links reads it to exactly the values the job ran with)."""

from __future__ import annotations

import pytest

from labcore import links, tracking
from labcore.autoencoders import AEConfig, AutoencoderJob
from labcore.config import DataConfig, TrainConfig
from labcore.engine import Engine
from labcore.models import default_config
from labcore.train.compare import CompareJob, SequencesJob, compare_config
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
