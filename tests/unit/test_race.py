"""The optimizer race: batched contenders equal solo training, start identical, survive a diverging
neighbour, obey pause/stop; presets, shareable links, leaderboard and chart."""

from __future__ import annotations

import math
import threading
import time

import pytest
import torch
from torch import nn

from labcore.bench import BENCHMARKS
from labcore.config import DataConfig, ModelConfig, OptimConfig, TrainConfig
from labcore.data import dataset_info, load_dataset
from labcore.engine import Engine
from labcore.i18n import LabError
from labcore.models import default_config
from labcore.train.batched import groupify
from labcore.train.race import (
    Contender,
    Race,
    RaceConfig,
    RaceJob,
    Standing,
    optimizer_defaults,
    race_bench,
    race_models,
)
from labcore.train.race_setup import PRESETS, from_query, preset, to_query
from labcore.train.trainer import Trainer
from labcore.viz.race import contender_labels, leaderboard_frame, leaderboard_rows, race_figure


def race_cfg(model: str = "mlp", *optims: OptimConfig, epochs: int = 2, **train) -> RaceConfig:
    optims = optims or (OptimConfig(name="momentum", lr=0.02), OptimConfig(name="adam", lr=1e-3))
    return RaceConfig(model=default_config(model), contenders=tuple(Contender(o) for o in optims),
                      train=TrainConfig(epochs=epochs, num_threads=1, **train))


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def column(rows: list[dict], key: str) -> torch.Tensor:
    return torch.tensor([r[key] for r in rows], dtype=torch.float64)


def assert_like_solo(race: Race, cfg: RaceConfig, data) -> None:
    """Every contender's per-step loss and per-epoch validation accuracy equal a Trainer run of it alone (the race
    has already run). Shared with the Training-tricks tests, whose contenders bring their own networks."""
    for i, s in enumerate(race.standings()):
        solo = Trainer(cfg.solo(i), data)
        solo.fit()
        steps, epochs = solo.log.snapshot()
        torch.testing.assert_close(column(s.steps, "loss"), column(steps, "loss"), rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(column(s.epochs, "val_acc"), column(epochs, "val_acc"))


# -- the engine -------------------------------------------------------------------------------------------
def test_every_contender_starts_from_the_weights_a_solo_run_starts_from(digits):
    cfg = race_cfg("cnn", *(optimizer_defaults(n) for n in ("sgd", "adam", "lion")))
    race = Race(cfg, digits)
    solo = Trainer(cfg.solo(0), digits).model.state_dict()
    for i in range(3):
        state = race.contender_model(i).state_dict()
        assert state.keys() == solo.keys()
        for key, value in solo.items():
            assert torch.equal(state[key], value), key


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_each_contender_trains_exactly_as_it_would_alone(digits, model):
    """Per-step loss and gradient norm, per-epoch validation, and the final eval-mode network (batch-norm
    running statistics included) match a Trainer run of that contender alone, to float tolerance."""
    optims = (OptimConfig(name="momentum", lr=0.02), OptimConfig(name="adam", lr=1e-3),
              OptimConfig(name="adamw", lr=3e-3, weight_decay=0.05, clip_norm=0.5, schedule="cosine"))
    cfg = race_cfg(model, *optims)
    race = Race(cfg, digits)
    race.fit()
    for i, s in enumerate(race.standings()):
        solo = Trainer(cfg.solo(i), digits)
        solo.fit()
        steps, epochs = solo.log.snapshot()
        assert s.status == "finished" and len(s.steps) == len(steps) and len(s.epochs) == len(epochs) == 2
        for key in ("loss", "grad_norm", "lr", "epoch"):
            torch.testing.assert_close(column(s.steps, key), column(steps, key), rtol=1e-4, atol=1e-6)
        for key in ("loss", "acc", "val_loss", "val_acc"):
            torch.testing.assert_close(column(s.epochs, key), column(epochs, key), rtol=1e-4, atol=1e-6)
        with torch.no_grad():
            torch.testing.assert_close(race.contender_model(i)(digits.x_test), solo.model.eval()(digits.x_test),
                                       rtol=1e-4, atol=1e-5)


def test_contenders_with_their_own_batch_size_match_solo_runs(digits):
    cfg = RaceConfig(model=default_config("mlp"), train=TrainConfig(epochs=1, batch_size=64),
                     contenders=(Contender(OptimConfig(name="adam")), Contender(OptimConfig(name="adam"), 200),
                                 Contender(OptimConfig(name="sgd", lr=0.05), 200)))
    race = Race(cfg, digits)
    assert sorted(h.batch_size for h in race.heats) == [64, 200]
    race.fit()
    for i, s in enumerate(race.standings()):
        solo = Trainer(cfg.solo(i), digits)
        solo.fit()
        torch.testing.assert_close(column(s.steps, "loss"), column(solo.log.snapshot()[0], "loss"), rtol=1e-4,
                                   atol=1e-6)
    # Same data order in every heat: contenders 0 and 1 differ only in batch size, and see the same first
    # 64 samples first (batch 1 of the 64-heat is the head of batch 1 of the 200-heat).
    assert race.standings()[1].steps[0]["epoch"] == pytest.approx(200 / len(digits.y_train))


def test_resnet_blocks_batch_too(digits):
    cfg = RaceConfig(model=default_config("resnet"), train=TrainConfig(epochs=1),
                     contenders=(Contender(OptimConfig(name="adam")), Contender(OptimConfig(name="momentum"))))
    race = Race(cfg, digits)
    race.fit()
    solo = Trainer(cfg.solo(1), digits)
    solo.fit()
    assert race.standings()[1].epochs[0]["val_loss"] == pytest.approx(solo.log.epochs[0]["val_loss"], rel=1e-4)


def test_layers_the_race_cannot_batch_are_refused():
    with pytest.raises(TypeError, match="LSTM"):
        groupify(nn.Sequential(nn.LSTM(4, 4)), 2)


def test_optimizer_state_memory_is_counted(digits):
    cfg = race_cfg("mlp", *(optimizer_defaults(n) for n in ("sgd", "momentum", "adam", "lion")), epochs=1)
    race = Race(cfg, digits)
    race.fit()
    params = race.param_bytes
    sgd, momentum, adam, lion = (s.state_bytes for s in race.standings())
    assert sgd == 0 and momentum == params and lion == params
    assert 2 * params <= adam <= 2 * params + 4 * 16  # two moments, plus a step counter per tensor


# -- the job ----------------------------------------------------------------------------------------------
def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def _no_leftover_threads():
    yield
    alive = [t.name for t in threading.enumerate() if t.name.startswith("train-")]
    assert not alive, f"race threads outlived the test: {alive}"


def test_a_diverging_contender_leaves_the_race_and_the_others_go_on(digits):
    cfg = race_cfg("mlp", OptimConfig(name="adam", lr=1e-3), OptimConfig(name="adam", lr=100.0),
                   OptimConfig(name="momentum", lr=0.02), epochs=3)
    job = RaceJob(cfg).start()
    assert job.join(60)
    assert job.status == "finished" and job.error is None
    fine, blown, other = job.standings()
    assert blown.status == "diverged" and blown.diverged_step is not None
    assert len(blown.epochs) < 3 and blown.steps[-1]["step"] == blown.diverged_step
    for s in (fine, other):
        assert s.status == "finished" and len(s.epochs) == 3
        assert s.steps[-1]["step"] > blown.diverged_step and math.isfinite(s.steps[-1]["loss"])
    # the survivors' curves are exactly those of a race without the diverging contender
    calm = Race(race_cfg("mlp", OptimConfig(name="adam", lr=1e-3), OptimConfig(name="momentum", lr=0.02), epochs=3),
                digits)
    calm.fit()
    torch.testing.assert_close(column(fine.epochs, "val_loss"), column(calm.standings()[0].epochs, "val_loss"))


def test_when_every_contender_diverges_the_job_says_so():
    job = RaceJob(race_cfg("mlp", OptimConfig(name="adam", lr=100.0), OptimConfig(name="sgd", lr=100.0))).start()
    assert job.join(60)
    assert job.status == "diverged" and job.error.key == "race.all_diverged"


def test_pause_resume_and_stop_act_between_batches():
    job = Engine().submit(race_cfg("mlp", epochs=200, step_delay=0.01), owner="me", job_class=RaceJob)
    assert isinstance(job, RaceJob)
    wait_for(lambda: len(job.snapshot()[0]) > 3)
    job.pause()
    assert job.status == "paused"
    time.sleep(0.1)
    n = len(job.snapshot()[0])
    time.sleep(0.4)
    assert len(job.snapshot()[0]) <= n + 1  # at most the batch in flight
    job.resume()
    wait_for(lambda: len(job.snapshot()[0]) > n + 3)
    progress = job.progress()
    assert 0 < progress["fraction"] < 1 and progress["epochs"] == 200
    job.stop()
    assert job.join(1.0), "the race thread did not end within 1 s of stop"
    assert job.status == "stopped"
    assert {s.status for s in job.standings()} == {"stopped"}
    assert job.set_lr(0.1) is False  # a race keeps each contender's learning rate


def test_a_race_needs_two_to_eight_contenders(digits):
    with pytest.raises(LabError):
        Race(race_cfg("mlp", OptimConfig()), digits)
    with pytest.raises(LabError):
        Race(race_cfg("mlp", *[OptimConfig()] * 9), digits)


def test_every_model_the_race_offers_can_be_raced(digits):
    offered = race_models(dataset_info("digits"))
    assert "cnn" in offered and "vit" not in offered
    for name in offered:
        Race(race_cfg(name, OptimConfig(), OptimConfig(name="sgd")), digits)  # builds the batched twin
    with pytest.raises(LabError) as refused:
        Race(race_cfg("vit", OptimConfig(), OptimConfig(name="sgd")), digits)
    assert refused.value.key == "race.model_not_raceable"


# -- presets and links ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_build_valid_races(name, digits):
    cfg = preset(name)
    cfg.validate()
    race = Race(cfg, digits)  # builds every heat and optimizer
    assert len(race.lanes) == len(cfg.contenders)
    assert len(set(contender_labels(cfg))) == len(cfg.contenders)
    assert from_query(to_query(cfg)) == cfg


def test_the_batch_preset_races_three_batch_sizes():
    assert sorted({preset("batch_sizes").batch_size(i) for i in range(3)}) == [16, 64, 256]


def test_links_round_trip_every_setting():
    cfg = RaceConfig(
        data=DataConfig(name="moons", noise=0.25, n_samples=800, seed=3),
        model=ModelConfig(name="mlp", depth=3, width=32, activation="tanh", batch_norm=True, dropout=0.1),
        train=TrainConfig(epochs=7, batch_size=32, seed=11),
        contenders=(Contender(OptimConfig(name="momentum", lr=0.0123456789, momentum=0.8, schedule="cosine",
                                          warmup_epochs=1.5, clip_norm=1.0)),
                    Contender(OptimConfig(name="adamw", lr=3e-4, beta1=0.85, beta2=0.99, weight_decay=0.1), 128),
                    Contender(optimizer_defaults("lion"))),
        target_acc=0.9,
    )
    q = to_query(cfg)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in q.items())
    assert from_query(q) == cfg
    assert from_query({k: [v] for k, v in q.items()}) == cfg  # st.query_params may hand over lists


def test_links_name_only_what_differs_from_the_defaults():
    q = to_query(preset("optimizers"))
    assert q == {"data": "digits", "model": "cnn", "c1": "adam", "c2": "sgd", "c3": "rmsprop"}


@pytest.mark.parametrize("bad", [
    {},  # no contenders
    {"c1": "adam"},  # one
    {"c1": "adam", "c2": "nope"},  # unknown optimizer
    {"c1": "adam", "c2": "sgd", "c2.lr": "fast"},  # not a number
    {"c1": "adam", "c2": "sgd", "c2.lr": "-1"},
    {"data": "wine", "model": "cnn", "c1": "adam", "c2": "sgd"},  # a CNN cannot read tabular data
    {"c1": "adam", "c2": "sgd", "train.epochs": "0"},
])
def test_broken_links_raise_a_readable_error(bad):
    with pytest.raises(LabError) as e:
        from_query(bad)
    assert e.value.key in ("race.bad_link", "race.contender_count")


# -- leaderboard and chart --------------------------------------------------------------------------------
def standing(index: int, accs: list[float], status: str = "finished", diverged: int | None = None) -> Standing:
    epochs = [{"epoch": e + 1, "step": 10 * (e + 1), "loss": 1 / (e + 1), "acc": a, "val_loss": 1 / (e + 2),
               "val_acc": a, "seconds": 0.5} for e, a in enumerate(accs)]
    steps = [{"step": s, "epoch": s / 10, "loss": 2 / s, "lr": 0.1, "grad_norm": 1.0, "time": s / 20}
             for s in range(1, 10 * len(accs) + 1)]
    return Standing(index, status, diverged, 1000 * index, steps, epochs)


def test_leaderboard_ranks_by_best_accuracy_then_speed_with_diverged_last():
    rows = leaderboard_rows([standing(0, [0.5, 0.9, 0.96]), standing(1, [0.96, 0.97]),
                             standing(2, [0.97], "diverged", 14), standing(3, [0.6, 0.97, 0.97])], target=0.95)
    # 1 and 3 both peak at 97%; 1 got past 95% after one epoch (10 steps), 3 after two.
    assert [r["index"] for r in rows] == [1, 3, 0, 2]
    assert rows[0]["steps_to_target"] == 10 and rows[0]["seconds_to_target"] == pytest.approx(0.5)
    assert rows[1]["steps_to_target"] == 20 and rows[1]["seconds_to_target"] == pytest.approx(1.0)
    assert rows[1]["best_val_acc"] == 0.97 and rows[1]["best_epoch"] == 2  # the first epoch at its best
    assert rows[2]["steps_to_target"] == 30
    frame = leaderboard_frame(rows, ["a", "b", "c", "d"], param_bytes=1000)
    assert list(frame.iloc[:, 1]) == ["b", "d", "a", "c"]
    assert "14" in frame.iloc[3, 2]  # "Diverged at step 14"


def test_leaderboard_leaves_never_reached_targets_empty():
    (row,) = leaderboard_rows([standing(0, [0.3, 0.4])], target=0.95)
    assert row["steps_to_target"] is None and row["seconds_to_target"] is None


def test_race_figure_overlays_every_contender():
    cfg = race_cfg("mlp", OptimConfig(name="adam"), OptimConfig(name="sgd"), OptimConfig(name="lion"))
    labels = contender_labels(cfg)
    fig = race_figure([standing(0, [0.5, 0.9]), standing(1, [0.4]), standing(2, [0.2], "diverged", 7)], labels,
                      target=0.9)
    names = {tr.name for tr in fig.data if tr.showlegend is not False}
    assert set(labels) <= names
    assert any(tr.marker.symbol == "x" for tr in fig.data)  # where the diverged one blew up
    empty = race_figure([], labels)
    assert "Press Start race" in empty.layout.annotations[0].text


def test_labels_say_what_differs():
    cfg = RaceConfig(train=TrainConfig(batch_size=64),
                     contenders=(Contender(optimizer_defaults("adam", weight_decay=0.05)),
                                 Contender(optimizer_defaults("adam"), 256), Contender(optimizer_defaults("adam"))))
    assert contender_labels(cfg) == ["Adam · lr 0.001 · wd 0.05", "Adam · lr 0.001 · batch 256", "Adam · lr 0.001"]


# -- benchmark --------------------------------------------------------------------------------------------
def test_the_race_benchmark_reports_ratios():
    assert BENCHMARKS["race"] is race_bench
    out = race_bench(repeats=1, epochs=1)
    assert out["model"] == "cnn" and out["contenders"] == 6
    assert out["ratio"] > 0 and out["mlp"]["ratio"] > 0 and "ratio_vs_bare" in out
