"""Lesson 20, "re-run this run": a finished Train job's config (seed included) trained again on one CPU thread
gives the same loss at every step; the link the Save & serve panel offers carries that whole setup."""

from __future__ import annotations

from labcore import links
from labcore.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from labcore.models import default_config
from labcore.train.job import TrainingJob


def _finished(cfg: RunConfig) -> TrainingJob:
    job = TrainingJob(cfg).start()
    assert job.join(60), "the run did not end"
    assert job.status == "finished", job.status
    return job


def _losses(job: TrainingJob) -> list[float]:
    return [row["loss"] for row in job.snapshot()[0]]


def test_the_same_config_run_again_gives_identical_losses_per_step():
    cfg = RunConfig(data=DataConfig(name="digits"), model=default_config("mlp"), optim=OptimConfig(lr=0.01),
                    train=TrainConfig(epochs=2, seed=7, device="cpu", num_threads=1, inspect=False))
    first = _finished(cfg)
    again = _finished(first.config)  # "re-run this run": the job's own config, seed and all
    other = _finished(RunConfig.from_dict({**cfg.to_dict(), "train": {**cfg.to_dict()["train"], "seed": 8}}))
    losses = _losses(first)
    assert len(losses) > 10
    assert _losses(again) == losses  # bit for bit, not just close
    assert _losses(other) != losses  # the seed matters: another seed is another run
    query = links.write("train", links.train_values(first.config))
    assert query["train.seed"] == "7" and query["model.name"] == "mlp"
    values, ignored = links.read("train", query)  # the Train page opens with exactly this setup
    setup = links.train_values(first.config)
    assert not ignored and values["train.seed"] == 7
    assert {k: v for k, v in values.items() if k in setup} == {k: setup[k] for k in values if k in setup}
