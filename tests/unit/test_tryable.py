"""Issue 19, Try it: the student chooses which model to try (every strategy of a transfer race, every model
trained in the tab), and a tie in validation accuracy is broken by the validation loss, not by list order."""

from __future__ import annotations

import math
from functools import partial

import torch

from labcore.config import DataConfig, RunConfig, TrainConfig
from labcore.engine import Engine
from labcore.models import default_config
from labcore.train.job import TrainingJob
from labcore.transfer.job import StrategyResult, TransferConfig, TransferJob, best_result, tied_with
from labcore.transfer.targets import few_labels, load_target
from labcore.tryable import tryable_models, tryable_network


def _result(strategy: str, val_acc: float, val_loss: float) -> StrategyResult:
    return StrategyResult(strategy, "finished", 0.5, val_acc, 3, 1.0, 10, 100, val_loss)


def test_a_tie_in_validation_accuracy_goes_to_the_lower_validation_loss_whatever_the_order():
    features, finetune = _result("features", 1.0, 0.40), _result("finetune", 1.0, 0.05)
    scratch = _result("scratch", 0.6, 0.01)
    for order in ([features, finetune, scratch], [finetune, features, scratch], [scratch, features, finetune]):
        best = best_result(order)
        assert best.strategy == "finetune"  # the list order used to decide: "features" came first
        assert [r.strategy for r in tied_with(best, order)] == ["features"]
    assert tied_with(best_result([features, scratch]), [features, scratch]) == []  # no tie, nothing to say
    nan_loss = _result("scratch", 1.0, math.nan)  # a result without a loss never wins a tie
    assert best_result([nan_loss, features]).strategy == "features"


def test_every_strategy_of_a_transfer_race_and_every_trained_model_can_be_tried():
    registry = Engine()
    data = few_labels(load_target("digits_5_9", 0, 0), 6)
    cfg = TransferConfig(train=TrainConfig(epochs=2, batch_size=16, num_threads=1))
    race = registry.submit(cfg, owner="tab", job_class=partial(TransferJob, data=data))
    assert race.join(60) and race.status == "finished", race.error
    run = RunConfig(data=DataConfig(name="digits", n_samples=300), model=default_config("mlp"),
                    train=TrainConfig(epochs=1, num_threads=1))
    plain = registry.submit(run, owner="tab", job_class=TrainingJob)
    assert plain.join(60) and plain.status == "finished", plain.error

    entries = tryable_models(registry.jobs(owner="tab", of=TrainingJob))
    assert [e.kind for e in entries] == ["train", "transfer", "transfer", "transfer"]  # newest run first
    assert [e.run for e in entries] == [2, 1, 1, 1]
    strategies = [e for e in entries if e.kind == "transfer"]
    assert strategies[0].best and strategies[0].strategy == race.best.strategy  # the winner first
    assert {e.strategy for e in strategies} == {"features", "finetune", "scratch"} and sum(e.best for e in entries) == 1
    assert len({e.key for e in entries}) == len(entries)
    assert all(e.model == "lab_digits" and e.data == "digits_5_9" for e in strategies)
    assert (entries[0].model, entries[0].data) == ("mlp", "digits")

    nets = []
    for e in strategies:  # each strategy's own network, with its own test accuracy
        net, bundle = tryable_network(race, e)
        assert bundle is data and net is race.race.lanes[e.strategy].net
        assert e.accuracy == next(r.test_accuracy for r in race.results if r.strategy == e.strategy)
        nets.append(net)
    x = torch.rand(2, *data.input_shape)
    assert not torch.equal(nets[0](x), nets[-1](x))  # really different models
    net, bundle = tryable_network(plain, entries[0])
    assert net is plain.trainer.model and bundle.info.kind == "image"
