"""The training loop: learning, reproducibility, divergence, early stopping, clipping, callbacks."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labcore.config import DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from labcore.data import load_dataset
from labcore.models import default_config
from labcore.train.optimizers import build_optimizer
from labcore.train.trainer import HOOKS, Callback, Diverged, EarlyStopping, Trainer


def _cfg(data: str = "digits", model: str = "cnn", **groups) -> RunConfig:
    base = RunConfig(data=DataConfig(name=data), model=default_config(model), train=TrainConfig(epochs=2))
    return base.with_(**groups)


def _fit(cfg: RunConfig, **kwargs) -> Trainer:
    trainer = Trainer(cfg, load_dataset(cfg.data), **kwargs)
    trainer.fit()
    return trainer


@pytest.mark.parametrize("data,model,lr", [("digits", "cnn", 1e-3), ("moons", "mlp", 1e-2)])
def test_two_epochs_lower_the_loss(data, model, lr):
    trainer = _fit(_cfg(data, model, optim={"lr": lr}))
    steps, epochs = trainer.log.snapshot()
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert epochs[1]["loss"] < epochs[0]["loss"]
    assert epochs[1]["val_loss"] < steps[0]["loss"]
    first, last = steps[: len(steps) // 4], steps[-len(steps) // 4 :]
    assert sum(r["loss"] for r in last) / len(last) < sum(r["loss"] for r in first) / len(first)
    assert len(steps) == trainer.total_steps == 2 * trainer.steps_per_epoch
    assert [r["step"] for r in steps] == list(range(1, len(steps) + 1))
    assert steps[-1]["epoch"] == pytest.approx(2.0)
    for row in epochs:
        assert set(row) >= {
            "epoch",
            "step",
            "loss",
            "acc",
            "val_loss",
            "val_acc",
            "seconds",
            "samples_per_s",
            "lr",
        }
        assert 0 <= row["acc"] <= 1 and 0 <= row["val_acc"] <= 1 and row["samples_per_s"] > 0


def test_default_digits_cnn_reaches_97_percent():
    cfg = RunConfig()
    assert (cfg.data.name, cfg.model.name) == ("digits", "cnn")
    trainer = _fit(cfg)
    loss, acc = trainer.evaluate(trainer.data.x_test, trainer.data.y_test)
    assert acc >= 0.97, acc
    assert loss < 0.2
    proba = trainer.predict_proba(trainer.data.x_test)
    assert proba.shape == (len(trainer.data.y_test), 10)
    assert abs(proba.sum(1) - 1).max() < 1e-5


def _rows(trainer: Trainer) -> tuple[list[dict], list[dict]]:
    steps, epochs = trainer.log.snapshot()
    return (
        [{k: v for k, v in r.items() if k != "time"} for r in steps],
        [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")} for r in epochs],
    )


@pytest.mark.parametrize("data,model", [("digits", "cnn"), ("moons", "mlp")])
def test_same_seed_same_run_other_seed_other_run(data, model):
    cfg = _cfg(data, model)
    one, two = _rows(_fit(cfg)), _rows(_fit(cfg))
    assert one == two  # exactly, float for float
    other = _rows(_fit(cfg.with_(train={"seed": 1})))
    assert [r["loss"] for r in other[0]] != [r["loss"] for r in one[0]]


def test_the_seed_also_shuffles_the_batches():
    cfg = _cfg("moons", "mlp", train={"epochs": 1})
    data = load_dataset(cfg.data)
    initial = Trainer(cfg, data).model

    def losses(seed: int) -> list[float]:
        model = copy.deepcopy(initial)  # same weights: only the batch order can differ
        trainer = Trainer(cfg.with_(train={"seed": seed}), data, model=model)
        trainer.fit()
        return [r["loss"] for r in trainer.log.snapshot()[0]]

    assert losses(0) == losses(0)
    assert losses(0)[0] != losses(1)[0]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_huge_learning_rate_diverges(optimizer):
    cfg = _cfg(optim={"name": optimizer, "lr": 100.0}, train={"epochs": 3})
    trainer = Trainer(cfg, load_dataset(cfg.data))
    with pytest.raises(Diverged) as err:
        trainer.fit()
    assert 1 <= err.value.step <= trainer.total_steps
    assert str(err.value.step) in str(err.value)


def test_nan_inputs_are_caught():
    data = load_dataset("digits")
    poisoned = dataclasses.replace(data, x_train=torch.full_like(data.x_train, float("nan")))
    trainer = Trainer(_cfg(), poisoned)
    with pytest.raises(Diverged) as err:
        trainer.fit()
    assert err.value.step == 1
    assert err.value.loss != err.value.loss  # NaN


def test_nan_loss_is_caught():
    class NaNOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x) * float("nan")

    cfg = _cfg("moons", "mlp")
    trainer = Trainer(cfg, load_dataset(cfg.data), model=NaNOut())
    with pytest.raises(Diverged):
        trainer.fit()
    assert len(trainer.log.snapshot()[0]) == 1


def test_early_stopping_stops_and_restores_the_best_weights():
    cfg = RunConfig(
        data=DataConfig(name="breast_cancer"),
        model=ModelConfig(name="mlp", depth=3, width=256, batch_norm=False),
        optim=OptimConfig(lr=1e-2),
        train=TrainConfig(epochs=40, batch_size=32, patience=3),
    )
    trainer = Trainer(cfg, load_dataset(cfg.data), callbacks=[EarlyStopping(3)])
    result = trainer.fit()
    assert result.stopped_early and trainer.stopped_early
    assert result.epochs_done < cfg.train.epochs
    assert result.best_epoch < result.epochs_done
    epochs = trainer.log.epochs
    assert result.best_val_loss == min(e["val_loss"] for e in epochs)
    assert epochs[-1]["val_loss"] > result.best_val_loss  # the last epoch was worse...
    val_loss, _ = trainer.evaluate(trainer.val_x, trainer.val_y)
    assert val_loss == pytest.approx(
        result.best_val_loss, rel=1e-6, abs=1e-7
    )  # ...but the best weights are back


def test_without_patience_all_epochs_run():
    cfg = _cfg("moons", "mlp", train={"epochs": 4})
    result = Trainer(cfg, load_dataset(cfg.data)).fit()
    assert result.epochs_done == 4 and not result.stopped_early


def _param_vector(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in model.parameters()])


@pytest.mark.parametrize("clip", [1e-6, 0.0])
def test_gradient_clipping_bounds_the_update(clip):
    cfg = _cfg("moons", "mlp", optim={"name": "sgd", "lr": 0.1, "clip_norm": clip}, train={"epochs": 1})
    trainer = Trainer(cfg, load_dataset(cfg.data))
    before = _param_vector(trainer.model)
    trainer.fit()
    moved = (_param_vector(trainer.model) - before).norm().item()
    steps = trainer.log.snapshot()[0]
    assert all(r["grad_norm"] > 1e-3 for r in steps)  # the logged norm is the true one, before clipping
    if clip:
        # plain SGD moves by lr * (clipped gradient) per step: at most lr * clip_norm
        assert moved <= trainer.total_steps * 0.1 * clip * 1.001
    else:
        assert moved > 1e-2


def test_callbacks_get_every_hook_in_order():
    class Recorder(Callback):
        def __init__(self):
            self.calls = []

        def on_fit_start(self, trainer, logs):
            self.calls.append("fit_start")

        def on_epoch_start(self, trainer, logs):
            self.calls.append(f"epoch_start {logs['epoch']}")

        def on_batch_end(self, trainer, logs):
            self.calls.append("batch")
            assert logs["step"] == trainer.step
            if trainer.step == 1:  # the first step is logged at once (the page's first point)
                assert "loss" in logs and trainer.log.last_step["step"] == 1

        def on_epoch_end(self, trainer, logs):
            self.calls.append(f"epoch_end {logs['epoch']}")

        def on_fit_end(self, trainer, logs):
            self.calls.append("fit_end")

    rec = Recorder()
    trainer = _fit(_cfg("moons", "mlp"), callbacks=[rec])
    n = trainer.steps_per_epoch
    assert rec.calls == (
        ["fit_start", "epoch_start 1"]
        + ["batch"] * n
        + ["epoch_end 1", "epoch_start 2"]
        + ["batch"] * n
        + ["epoch_end 2", "fit_end"]
    )


def test_a_callback_can_stop_the_run():
    class StopAt(Callback):
        def on_batch_end(self, trainer, logs):
            if trainer.step == 3:
                trainer.should_stop = True

    trainer = Trainer(_cfg("moons", "mlp", train={"epochs": 5}), load_dataset("moons"), callbacks=[StopAt()])
    result = trainer.fit()
    assert len(trainer.log.snapshot()[0]) == 3
    assert result.epochs_done == 1


def test_misspelt_hook_is_rejected():
    class Typo(Callback):
        def on_batch_ended(self, trainer, logs):
            pass

    with pytest.raises(TypeError, match="on_batch_ended"):
        Trainer(_cfg("moons", "mlp"), load_dataset("moons"), callbacks=[Typo()])
    assert "on_batch_end" in HOOKS


def test_batch_size_larger_than_the_data_is_clamped():
    cfg = _cfg("wine", "mlp", train={"batch_size": 10_000, "epochs": 1})
    trainer = _fit(cfg)
    assert trainer.batch_size == len(trainer.data.y_train) and trainer.steps_per_epoch == 1


def test_byte_images_are_scaled_per_batch(fake_mnist):
    fake_mnist("MNIST", n_train=200, n_test=50)
    cfg = RunConfig(data=DataConfig(name="mnist"), model=default_config("mlp"), train=TrainConfig(epochs=1))
    data = load_dataset(cfg.data)
    assert data.x_train.dtype == torch.uint8
    seen = []
    trainer = Trainer(cfg, data)
    trainer.model.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    trainer.fit()
    assert all(x.dtype == torch.float32 and x.max() <= 1 and x.max() > 0.9 for x in seen)
    _, acc = trainer.evaluate(data.x_test, data.y_test)
    assert 0 <= acc <= 1


class _DropGradients(Callback):
    """Replaces the gradients behind the trainer's back (as other code calling zero_grad would)."""

    def on_batch_end(self, trainer, logs):
        if trainer.step == 3:
            trainer.optimizer.zero_grad(set_to_none=True)


@pytest.mark.parametrize("callbacks", [(), (_DropGradients(),)], ids=["plain", "gradients-replaced"])
def test_each_logged_step_equals_a_hand_written_loop(callbacks):
    """Loss and gradient norm per step, against zero_grad/forward/backward/norm/step written out by hand."""
    cfg = _cfg("digits", "cnn", optim={"name": "adamw", "weight_decay": 0.01}, train={"epochs": 1})
    data = load_dataset(cfg.data)
    trainer = Trainer(cfg, data, callbacks=list(callbacks))
    model = copy.deepcopy(trainer.model)
    optimizer = build_optimizer(model.parameters(), cfg.optim)
    trainer.fit()
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(cfg.train.seed))
    b = trainer.batch_size
    for i, row in enumerate(trainer.log.snapshot()[0][:8]):
        idx = order[i * b : (i + 1) * b]
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
        loss.backward()
        norm = torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()
        optimizer.step()
        assert row["loss"] == pytest.approx(loss.item(), rel=1e-5)
        assert row["grad_norm"] == pytest.approx(norm, rel=1e-5)
    assert trainer._flat_grad is not None  # the fast path (one flat gradient buffer) was the one tested
    # the epoch's running accuracy and loss add up the same rows the log shows
    steps, epochs = trainer.log.snapshot()
    sizes = [min(b, len(data.y_train) - i * b) for i in range(len(steps))]
    assert epochs[0]["loss"] == pytest.approx(sum(r["loss"] * s for r, s in zip(steps, sizes, strict=True)) / sum(sizes))
    assert 0 < epochs[0]["acc"] <= 1


def test_a_parameter_without_gradient_is_left_alone():
    """A parameter the forward pass never uses keeps grad None: the optimizer (with decay) must not touch it."""
    data = load_dataset("moons")
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    model.spare = nn.Parameter(torch.ones(3))
    cfg = _cfg("moons", "mlp", optim={"name": "adamw", "lr": 0.01, "weight_decay": 0.5})
    trainer = Trainer(cfg, data, model=model)
    trainer.fit()
    assert model.spare.grad is None and torch.equal(model.spare.detach(), torch.ones(3))
    assert trainer._flat_grad is None  # the plain path: no shared buffer to leave the spare one in
    assert trainer.log.epochs[-1]["val_acc"] > 0.8
