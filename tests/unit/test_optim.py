"""Optimizers (including the hand-written Lion), learning-rate schedules, and augmentations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labcore.config import AugmentConfig, DataConfig, OptimConfig, RunConfig, TrainConfig
from labcore.data import load_dataset
from labcore.models import default_config
from labcore.train.augment import augment_preview, build_augment
from labcore.train.optimizers import OPTIMIZERS, Lion, build_optimizer
from labcore.train.schedules import SCHEDULES, build_scheduler, multiplier, schedule_curve
from labcore.train.trainer import Callback, Trainer

# -- optimizers -----------------------------------------------------------------------------------------


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 5, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    torch.manual_seed(0)
    return nn.Linear(5, 3), x, y


def _train(name: str, steps: int = 50, **cfg) -> tuple[float, float]:
    model, x, y = _problem()
    opt = build_optimizer(model.parameters(), OptimConfig(name=name, **cfg))
    first = F.cross_entropy(model(x), y).item()
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return first, F.cross_entropy(model(x), y).item()


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_lowers_the_loss(name):
    first, last = _train(name, lr=0.03)
    assert last < 0.75 * first, (first, last)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_lowers_the_loss_with_its_default_settings(name):
    first, last = _train(name, **OPTIMIZERS.get(name).defaults)
    assert last < first - 0.005, (first, last)


def test_optimizers_read_their_settings_from_the_config():
    params = [nn.Parameter(torch.zeros(3))]
    cfg = OptimConfig(lr=0.1, momentum=0.8, beta1=0.7, beta2=0.95, alpha=0.9, eps=1e-6, weight_decay=0.01)
    groups = {
        n: build_optimizer(params, OptimConfig(**{**cfg.__dict__, "name": n})).param_groups[0]
        for n in OPTIMIZERS
    }
    assert groups["momentum"]["momentum"] == 0.8 and not groups["momentum"]["nesterov"]
    assert groups["nesterov"]["nesterov"] and groups["sgd"]["momentum"] == 0
    assert groups["adam"]["betas"] == (0.7, 0.95) and groups["adam"]["eps"] == 1e-6
    assert groups["rmsprop"]["alpha"] == 0.9
    assert groups["lion"]["betas"] == (0.7, 0.95)
    assert all(g["lr"] == 0.1 and g["weight_decay"] == 0.01 for g in groups.values())
    assert isinstance(build_optimizer(params, OptimConfig(name="adamw")), torch.optim.AdamW)


def _lion_reference(start, grads, lr, beta1, beta2, wd, momentum_first=False):
    """Lion with plain tensor ops: decay, step by the sign of the interpolation, then update the momentum.

    `momentum_first=True` is a plausible mistake (momentum updated before the interpolation) that the
    test data must tell apart from the real thing.
    """
    p, m, path = start.clone(), torch.zeros_like(start), []
    for g in grads:
        p = p * (1 - lr * wd)
        if momentum_first:
            m = beta2 * m + (1 - beta2) * g
        c = beta1 * m + (1 - beta1) * g
        p = p - lr * torch.sign(c)
        if not momentum_first:
            m = beta2 * m + (1 - beta2) * g
        path.append(p)
    return path, m


@pytest.mark.parametrize("betas", [(0.9, 0.99), (0.5, 0.8)])
def test_lion_matches_the_paper_update(betas):
    lr, wd = 0.1, 0.5
    g = torch.Generator().manual_seed(0)
    start = torch.randn(64, generator=g)
    # gradients of very different sizes and signs, so the momentum decides some of the signs
    grads = [
        torch.randn(64, generator=g) * 10 ** torch.empty(64).uniform_(-2, 2, generator=g) for _ in range(3)
    ]
    expected, m = _lion_reference(start, grads, lr, *betas, wd)
    wrong, _ = _lion_reference(start, grads, lr, *betas, wd, momentum_first=True)
    assert not torch.allclose(expected[-1], wrong[-1])  # the data can tell the two apart
    param = nn.Parameter(start.clone())
    opt = Lion([param], lr=lr, betas=betas, weight_decay=wd)
    for grad, want in zip(grads, expected, strict=True):
        param.grad = grad.clone()
        opt.step()
        torch.testing.assert_close(param.detach(), want)
    torch.testing.assert_close(opt.state[param]["exp_avg"], m)


def test_lion_skips_parameters_without_gradients_and_rejects_bad_lr():
    a, b = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    opt = Lion([a, b], lr=0.1)
    a.grad = torch.ones(2)
    opt.step()
    assert torch.equal(b.detach(), torch.ones(2)) and torch.allclose(a.detach(), torch.full((2,), 0.9))
    with pytest.raises(ValueError):
        Lion([a], lr=0.0)


def test_lion_step_returns_the_closure_loss():
    p = nn.Parameter(torch.tensor([1.0]))
    opt = Lion([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 1.0
    assert p.item() == pytest.approx(0.9)


# -- schedules --------------------------------------------------------------------------------------------

SPE, EPOCHS = 10, 10
TOTAL = SPE * EPOCHS


def _mults(**cfg) -> np.ndarray:
    m = multiplier(OptimConfig(**cfg), SPE, TOTAL)
    return np.array([m(s) for s in range(TOTAL + 1)])


def test_constant():
    assert (_mults(schedule="constant") == 1).all()


def test_cosine_starts_at_one_and_ends_near_zero():
    m = _mults(schedule="cosine")
    assert m[0] == 1 and m[TOTAL] < 1e-9 and m[TOTAL - 1] < 1e-3
    assert m[TOTAL // 2] == pytest.approx(0.5)
    assert (np.diff(m) <= 1e-12).all()


def test_step_halves_at_each_boundary():
    m = _mults(schedule="step", step_epochs=3, gamma=0.5)
    assert (m[: 3 * SPE] == 1).all()
    assert (m[3 * SPE : 6 * SPE] == 0.5).all()
    assert m[6 * SPE] == 0.25 and m[9 * SPE] == 0.125


def test_exponential_is_gamma_to_the_epoch():
    m = _mults(schedule="exponential", gamma=0.9)
    for step in range(TOTAL):
        assert m[step] == pytest.approx(0.9 ** (step // SPE))


def test_one_cycle_peaks_at_thirty_percent():
    m = _mults(schedule="one_cycle")
    peak = int(np.argmax(m))
    assert abs(peak / TOTAL - 0.3) <= 0.02
    assert m[peak] == pytest.approx(1.0)
    assert m[0] == pytest.approx(1 / 25)
    assert m[TOTAL] < 1e-4 and m[TOTAL - 1] < 1e-3
    assert (np.diff(m[: peak + 1]) >= 0).all() and (np.diff(m[peak:]) <= 0).all()


def test_warmup_ramps_linearly_then_hands_over():
    m = _mults(schedule="constant", warmup_epochs=2)
    ramp = m[: 2 * SPE]
    np.testing.assert_allclose(ramp, np.arange(1, 2 * SPE + 1) / (2 * SPE))
    np.testing.assert_allclose(np.diff(ramp), 1 / (2 * SPE))
    assert (m[2 * SPE :] == 1).all()
    cos = _mults(schedule="cosine", warmup_epochs=1)
    # the warmup climbs to the chosen rate itself, then the cosine decays over the steps that are left
    assert int(np.argmax(cos)) == SPE - 1 and cos.max() == pytest.approx(1.0)
    rest = TOTAL - SPE + 1  # from the peak to the end, as a plain cosine counts from step 0
    for k in range(0, rest, 5):
        assert cos[SPE - 1 + k] == pytest.approx(0.5 * (1 + math.cos(math.pi * k / rest)))
    assert cos[0] == pytest.approx(1 / SPE)


def test_one_cycle_brings_its_own_warmup():
    np.testing.assert_allclose(_mults(schedule="one_cycle", warmup_epochs=3), _mults(schedule="one_cycle"))


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_schedule_curve_covers_every_step(name):
    cfg = OptimConfig(schedule=name, lr=0.2, warmup_epochs=1)
    steps, lrs = schedule_curve(cfg, 7, 4)
    assert len(steps) == len(lrs) == 7 * 4
    assert list(steps) == list(range(28))
    m = multiplier(cfg, 7, 28)
    np.testing.assert_allclose(lrs, [0.2 * m(s) for s in range(28)])
    assert (lrs > 0).all() and lrs.max() <= 0.2 + 1e-12


def test_scheduler_drives_the_optimizer_learning_rate():
    p = nn.Parameter(torch.zeros(1))
    cfg = OptimConfig(name="sgd", lr=0.4, schedule="step", step_epochs=1, gamma=0.5)
    opt = build_optimizer([p], cfg)
    sched = build_scheduler(opt, cfg, steps_per_epoch=2, total_steps=6)
    seen = []
    for _ in range(6):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([0.4, 0.4, 0.2, 0.2, 0.1, 0.1])


class _ChangeLr(Callback):
    def __init__(self, at: int, lr: float):
        self.at, self.lr = at, lr

    def on_batch_end(self, trainer, logs):
        if trainer.step == self.at:
            trainer.set_base_lr(self.lr)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_set_base_lr_mid_run_changes_the_next_steps(schedule):
    cfg = RunConfig(
        data=DataConfig(name="moons"),
        model=default_config("mlp"),
        optim=OptimConfig(lr=0.01, schedule=schedule),
        train=TrainConfig(epochs=3, batch_size=64),
    )
    trainer = Trainer(cfg, load_dataset(cfg.data), callbacks=[_ChangeLr(10, 0.5)])
    trainer.fit()
    steps, _ = trainer.log.snapshot()
    mult = multiplier(cfg.optim, trainer.steps_per_epoch, trainer.total_steps)
    assert len(steps) == trainer.total_steps > 12
    for row in steps:
        base = 0.01 if row["step"] <= 10 else 0.5  # the row of step s holds the lr step s used
        assert row["lr"] == pytest.approx(base * mult(row["step"] - 1)), row


# -- augmentation -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes_images() -> torch.Tensor:
    return load_dataset(DataConfig(name="shapes", n_samples=100)).x_train[:6]


def test_nothing_switched_on_gives_none():
    assert build_augment(AugmentConfig(), (3, 32, 32)) is None
    assert build_augment(AugmentConfig(), (2,)) is None


def test_rotation_changes_images_and_keeps_shape_and_range(shapes_images):
    torch.manual_seed(0)
    fn = build_augment(AugmentConfig(rotation=45.0), tuple(shapes_images.shape[1:]))
    out = fn(shapes_images.clone())
    assert out.shape == shapes_images.shape and out.dtype == shapes_images.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, shapes_images)


@pytest.mark.parametrize(
    "cfg",
    [
        AugmentConfig(rotation=30.0),
        AugmentConfig(crop_scale=0.5),
        AugmentConfig(color_jitter=0.5),
        AugmentConfig(noise_std=0.1),
    ],
)
def test_every_sample_gets_its_own_draw(shapes_images, cfg):
    torch.manual_seed(0)
    twins = shapes_images[:1].expand(4, -1, -1, -1).clone()
    out = build_augment(cfg, tuple(twins.shape[1:]))(twins)
    assert out.shape == twins.shape and out.min() >= 0 and out.max() <= 1
    for i in range(1, 4):
        assert not torch.allclose(out[0], out[i]), f"sample {i} got the same augmentation as sample 0"


def test_hflip_gives_the_image_or_its_mirror(shapes_images):
    torch.manual_seed(0)
    out = build_augment(AugmentConfig(hflip=True), (3, 32, 32))(shapes_images.repeat(4, 1, 1, 1))
    src = shapes_images.repeat(4, 1, 1, 1)
    flipped = [torch.equal(o, s.flip(-1)) for o, s in zip(out, src, strict=True)]
    kept = [torch.equal(o, s) for o, s in zip(out, src, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert any(flipped) and any(kept)


def test_grey_images_take_colour_jitter():
    x = load_dataset("digits").x_train[:4]
    out = build_augment(AugmentConfig(color_jitter=0.4, rotation=10.0), (1, 8, 8))(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1


def test_tabular_data_only_gets_noise():
    x = torch.randn(16, 5) * 3
    assert torch.equal(build_augment(AugmentConfig(hflip=True, rotation=20.0), (5,))(x), x)
    noisy = build_augment(AugmentConfig(noise_std=0.5), (5,))(x)
    assert noisy.shape == x.shape and not torch.allclose(noisy, x)
    assert 0.3 < (noisy - x).std().item() < 0.7
    assert noisy.abs().max() > 1  # features are not clipped to [0, 1]


def test_augmentations_draw_their_own_random_numbers(shapes_images):
    """Whatever else draws from torch's global generator between batches, a seed gives the same batches."""
    cfg = AugmentConfig(noise_std=0.2, rotation=30.0, hflip=True)
    x = shapes_images[:6]

    def batches(meddle: bool) -> list[torch.Tensor]:
        fn, out = build_augment(cfg, tuple(x.shape[1:]), seed=3), []
        for _ in range(3):
            if meddle:
                torch.manual_seed(123)
                torch.rand(50)
            out.append(fn(x))
        return out

    calm, busy = batches(False), batches(True)
    assert all(torch.equal(a, b) for a, b in zip(calm, busy, strict=True))
    assert not torch.equal(calm[0], calm[1])  # and each batch still gets fresh draws


def test_augment_preview(shapes_images):
    imgs = shapes_images[:3]
    rows = augment_preview(imgs, AugmentConfig(rotation=40.0), variants=4)
    assert isinstance(rows, np.ndarray) and rows.shape == (3 * 5, 3, 32, 32)
    assert rows.min() >= 0 and rows.max() <= 1
    for i in range(3):
        np.testing.assert_allclose(rows[i * 5], imgs[i].numpy())
        variants = rows[i * 5 + 1 : i * 5 + 5]
        assert sum(not np.allclose(v, rows[i * 5]) for v in variants) >= 2
    again = augment_preview(imgs, AugmentConfig(rotation=40.0), variants=4)
    np.testing.assert_array_equal(rows, again)  # seeded: the preview does not flicker between reruns
    plain = augment_preview(imgs, AugmentConfig(), variants=2)
    assert plain.shape == (9, 3, 32, 32)
    np.testing.assert_allclose(plain[1], imgs[0].numpy())


def test_trainer_applies_augmentation_to_training_batches_only():
    seen = []
    cfg = RunConfig(augment=AugmentConfig(noise_std=0.3), train=TrainConfig(epochs=1, batch_size=4096))
    data = load_dataset(cfg.data)
    trainer = Trainer(cfg, data)
    trainer.model.normalize.register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))
    trainer.fit()
    train_batch = seen[0]
    assert train_batch.shape == data.x_train.shape and math.isfinite(train_batch.sum().item())
    # the training batch is noisy (pixels no longer on the 1/16 grid of digits), the validation batch is not
    assert not torch.allclose(train_batch * 16, (train_batch * 16).round())
    val_batch = seen[-1]
    assert val_batch.shape[0] == len(data.y_val)
    assert torch.allclose(val_batch * 16, (val_batch * 16).round())
