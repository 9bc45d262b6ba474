"""Sequences: token tasks and windowed series, the sequence models, regression in the Trainer, the
vanishing-gradient probe, LSTM gates, and the comparison job."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labcore.config import DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from labcore.data import dataset_info, load_dataset
from labcore.data.sequences import (
    AGREEMENT_CLASSES,
    NOUNS,
    SERIES,
    forecast_scores,
    load_series,
    naive_forecasts,
    tokens_of,
    unscale,
    window_series,
)
from labcore.models import build_model, default_config, models_for
from labcore.train.compare import CompareJob, compare_config
from labcore.train.job import RegressionOutcome, TrainingJob
from labcore.train.probes import decay_ratio, gradient_over_time, lstm_gates
from labcore.train.trainer import Trainer

SEQUENCE_MODELS = ["rnn", "gru", "lstm", "conv1d", "transformer"]


@pytest.mark.parametrize("name", ["recall", "agreement", *SERIES])
@pytest.mark.parametrize("model", SEQUENCE_MODELS)
def test_every_sequence_model_gives_one_output_per_class_or_step(model, name):
    data = load_dataset(DataConfig(name=name, horizon=3) if name in SERIES else DataConfig(name=name))
    out_size = 3 if name in SERIES else data.num_classes
    for bidirectional in (False, True) if model in ("rnn", "gru", "lstm") else (False,):
        net = build_model(ModelConfig(name=model, bidirectional=bidirectional, width=16, depth=2), data, seed=0)
        out = net(data.x_train[:5])
        assert out.shape == (5, out_size) and torch.isfinite(out).all()


def test_sequence_models_are_offered_for_sequences_only():
    assert set(models_for(dataset_info("recall"))) == set(SEQUENCE_MODELS)
    assert set(models_for(dataset_info("co2"))) == set(SEQUENCE_MODELS)
    assert "rnn" not in models_for(dataset_info("digits")) and "vit" in models_for(dataset_info("digits"))


def test_bidirectional_reads_the_end_of_the_sequence_backwards():
    data = load_dataset("recall")
    one = build_model(ModelConfig(name="lstm", width=8), data, seed=0)
    two = build_model(ModelConfig(name="lstm", width=8, bidirectional=True), data, seed=0)
    assert two.net[0].rnn.bidirectional and two.net[1].in_features == 16 and one.net[1].in_features == 8


def test_recall_label_is_the_first_token_and_length_follows_the_slider():
    data = load_dataset(DataConfig(name="recall", seq_len=37, noise=0.3))
    assert data.input_shape == (9, 37) and tuple(data.x_train.shape[1:]) == (9, 37)
    first = data.x_train[:, :, 0].argmax(1)
    assert torch.equal(first, data.y_train)
    words = tokens_of(data, "train", 0)
    assert len(words) == 37 and words[0] == data.class_names[int(data.y_train[0])]
    assert {"w", "x", "y", "z"} & set(words[1:])  # distractors present at noise 0.3


def test_agreement_label_follows_the_head_noun_not_the_attractor():
    data = load_dataset("agreement")
    plural = {p for _, p in NOUNS}
    nouns = {w for pair in NOUNS for w in pair}
    attractor_disagrees = 0
    for i in range(len(data.y_train)):
        words = tokens_of(data, "train", i)
        found = [w for w in words if w in nouns]
        label = AGREEMENT_CLASSES[int(data.y_train[i])]
        assert label == ("were" if found[0] in plural else "was")
        attractor_disagrees += len(found) > 1 and (found[1] in plural) != (found[0] in plural)
    assert attractor_disagrees > len(data.y_train) // 5  # "the nearest noun" would often be wrong


def test_windows_split_by_time_without_leaking_targets():
    values = np.arange(100, dtype=float)
    parts, (cut1, cut2) = window_series(values, window=5, horizon=3)
    assert (cut1, cut2) == (70, 85)
    x, y, starts = parts["train"]
    assert x.shape[1:] == (1, 5) and y.shape[1:] == (3,)
    np.testing.assert_array_equal(x[:, 0, -1] + 1, y[:, 0])  # a window ends right before its targets
    assert starts.max() + 2 < cut1  # no training target in the future parts
    assert parts["val"][2].min() >= cut1 and parts["val"][2].max() + 2 < cut2
    assert parts["test"][2].min() >= cut2 and parts["test"][2].max() + 2 == 99


@pytest.mark.parametrize("name", list(SERIES))
def test_series_datasets_are_standardised_with_the_past_only(name):
    data = load_dataset(DataConfig(name=name, seq_len=12, horizon=2))
    info = data.info
    assert info.task == "regression" and info.kind == "series" and info.input_shape == (1, 12)
    assert data.y_train.dtype == torch.float32 and data.y_train.shape[1] == 2
    series, (mu, sd) = data.extras["series"], data.extras["scale"]
    cut1 = data.extras["cuts"][0]
    assert mu == pytest.approx(series.values[:cut1].mean()) and sd == pytest.approx(series.values[:cut1].std())
    # targets back on the original scale are the series' own values
    starts = data.extras["starts_test"]
    np.testing.assert_allclose(unscale(data, data.y_test.numpy())[:, 0], series.values[starts], rtol=1e-4)


def test_real_series_come_from_statsmodels():
    co2, sun = load_series("co2"), load_series("sunspots")
    assert len(co2.values) > 500 and np.isfinite(co2.values).all() and co2.period == 12
    assert 300 < co2.values.mean() < 380  # ppm
    assert len(sun.values) == 309 and sun.time[0] == 1700


def test_naive_baselines():
    values = np.arange(40, dtype=float) % 10  # a perfectly seasonal series, period 10
    starts = np.array([20, 25])
    naive = naive_forecasts(values, starts, horizon=3, period=10)
    np.testing.assert_array_equal(naive["last_value"], [[9, 9, 9], [4, 4, 4]])
    np.testing.assert_array_equal(naive["seasonal_naive"], [[0, 1, 2], [5, 6, 7]])  # exact on a seasonal series
    truth = np.stack([values[s : s + 3] for s in starts])
    assert forecast_scores(truth, naive["seasonal_naive"]) == {"mae": 0.0, "rmse": 0.0}
    assert forecast_scores(truth, naive["last_value"])["rmse"] > forecast_scores(truth, naive["last_value"])["mae"] > 0
    # with drift: exact on a seasonal series, and on a season riding a straight trend (where plain seasonal
    # naive lags by one season's growth)
    np.testing.assert_array_equal(naive["seasonal_drift"], naive["seasonal_naive"])
    trend = values + 0.5 * np.arange(40)
    drift = naive_forecasts(trend, starts, horizon=1, period=10)
    truth = trend[starts][:, None]
    assert forecast_scores(truth, drift["seasonal_drift"])["mae"] == pytest.approx(0.0)
    assert forecast_scores(truth, drift["seasonal_naive"])["mae"] == pytest.approx(5.0)


def test_on_co2_the_seasonal_drift_rule_is_the_strongest_naive_baseline():
    from labcore.config import DataConfig
    from labcore.data import load_dataset

    data = load_dataset(DataConfig(name="co2"))
    series, starts = data.extras["series"], data.extras["starts_test"]
    truth = series.values[starts][:, None]
    maes = {k: forecast_scores(truth, v[:, :1])["mae"]
            for k, v in naive_forecasts(series.values, starts, 1, series.period).items()}
    assert maes["seasonal_drift"] < 0.4 < 1.0 < maes["last_value"]
    assert maes["seasonal_drift"] < maes["seasonal_naive"]


def test_trainer_does_regression_with_mse_and_no_accuracy():
    cfg = RunConfig(data=DataConfig(name="sines", horizon=2), model=default_config("conv1d"),
                    optim=OptimConfig(lr=3e-3), train=TrainConfig(epochs=6))
    trainer = Trainer(cfg, load_dataset(cfg.data))
    trainer.fit()
    _, epochs = trainer.log.snapshot()
    assert "acc" not in epochs[-1] and "val_acc" not in epochs[-1]
    assert epochs[-1]["val_loss"] < epochs[0]["val_loss"]
    data = trainer.data
    mse, acc = trainer.evaluate(data.x_test, data.y_test)
    assert np.isnan(acc)
    assert mse == pytest.approx(F.mse_loss(trainer.predict_logits(data.x_test), data.y_test).item(), rel=1e-5)
    # a learnt forecaster beats repeating the last value on noisy sines
    series, starts = data.extras["series"], data.extras["starts_test"]
    pred = unscale(data, trainer.predict_logits(data.x_test).numpy())
    truth = unscale(data, data.y_test.numpy())
    naive = naive_forecasts(series.values, starts, 2, series.period)["last_value"]
    assert forecast_scores(truth, pred)["mae"] < forecast_scores(truth, naive)["mae"]


def test_a_training_job_on_a_series_ends_with_forecasts():
    cfg = RunConfig(data=DataConfig(name="sunspots"), model=default_config("gru"), train=TrainConfig(epochs=2))
    job = TrainingJob(cfg, threads=1).start()
    assert job.join(60) and job.status == "finished", job.error
    assert isinstance(job.outcome, RegressionOutcome)
    assert job.outcome.y_pred.shape == job.outcome.y_true.shape == (len(job.trainer.data.y_test), 1)


def test_plain_rnn_gradient_vanishes_with_distance_and_lstm_keeps_it():
    data = load_dataset(DataConfig(name="recall", seq_len=60))
    x, y = data.x_val[:64], data.y_val[:64]
    rnn = build_model(default_config("rnn"), data, seed=0)
    curve = gradient_over_time(rnn, x, y)
    assert curve.shape == (60,)
    # from the end back to the start the gradient shrinks, step after step, by orders of magnitude
    assert curve[-1] > curve[-10] > curve[-20] > curve[-30] and decay_ratio(curve) < 1e-6
    assert all(p.grad is None for p in rnn.parameters())  # the probe leaves the weights' gradients alone
    lstm = build_model(default_config("lstm"), data, seed=0)
    assert decay_ratio(gradient_over_time(lstm, x, y)) > 1e3 * decay_ratio(curve)


def test_lstm_beats_plain_rnn_on_long_sequences():
    data = DataConfig(name="recall", seq_len=40)
    cfg = compare_config(data, [default_config("rnn"), default_config("lstm")], epochs=12, lr=3e-3)
    results = {}
    for i in range(2):
        trainer = Trainer(cfg.run(i), load_dataset(data))
        trainer.fit()
        results[cfg.models[i].name] = trainer.evaluate(trainer.data.x_test, trainer.data.y_test)[1]
    assert results["lstm"] >= 0.9, results
    assert results["rnn"] <= 0.5, results  # 4 classes: chance is 25%


def test_lstm_gates_replay_matches_the_lstm():
    data = load_dataset(DataConfig(name="recall", seq_len=12))
    model = build_model(default_config("lstm"), data, seed=0)
    gates = lstm_gates(model, data.x_test[0])
    assert set(gates) == {"input", "forget", "cell", "output", "c", "h"}
    out, _ = model.net[0].rnn(data.x_test[:1].transpose(1, 2))
    np.testing.assert_allclose(gates["h"], out[0].detach().numpy(), atol=1e-5)
    for g in ("input", "forget", "output"):
        assert gates[g].shape == (12, 32) and gates[g].min() >= 0 and gates[g].max() <= 1
    assert gates["forget"].mean() > 0.8  # the forget gate starts out open: memory kept by default


def test_compare_job_trains_each_model_and_records_gradients():
    cfg = compare_config(DataConfig(name="recall", seq_len=10, n_samples=300),
                         [default_config("rnn"), default_config("conv1d")], epochs=2, lr=3e-3)
    job = CompareJob(cfg, threads=1).start()
    assert job.join(60) and job.status == "finished", job.error
    assert [c.status for c in job.contenders] == ["finished", "finished"]
    for c in job.contenders:
        assert [e for e, _ in c.gradients] == [0, 1, 2] and c.gradients[0][1].shape == (10,)
        assert len(c.snapshot()[1]) == 2 and 0 <= c.test_acc <= 1
    assert job.progress()["fraction"] == 1.0


def test_compare_job_forecasts_and_stops_between_batches():
    cfg = compare_config(DataConfig(name="co2"), [default_config("lstm"), default_config("gru")], epochs=50,
                         lr=3e-3, step_delay=0.02)
    job = CompareJob(cfg, threads=1).start()
    deadline = time.time() + 30
    while job.contenders[0].test_pred is None and time.time() < deadline:
        time.sleep(0.05)
    job.stop()
    assert job.join(30) and job.status == "stopped"
    assert job.contenders[0].status == "stopped" and job.contenders[1].status == "waiting"
    assert job.contenders[0].test_pred.shape == (len(job.data.y_test), 1)


def test_sequence_figures():
    from labcore.viz.sequences import (
        compare_curves_figure,
        forecast_figure,
        gates_figure,
        gradient_time_figure,
    )

    runs = [("RNN", [{"epoch": 1, "val_acc": 0.25}, {"epoch": 2, "val_acc": 0.3}]), ("LSTM", [])]
    fig = compare_curves_figure(runs)
    assert len(fig.data) == 1 and fig.layout.yaxis.tickformat == ".0%"
    assert compare_curves_figure([]).layout.annotations  # "press Train" on an empty chart
    fig = gradient_time_figure([("RNN", np.logspace(-8, 0, 20)), ("LSTM", np.zeros(20))])
    assert fig.layout.yaxis.type == "log" and len(fig.data) == 2 and min(fig.data[1].y) > 0  # zeros stay drawable
    data = load_dataset(DataConfig(name="recall", seq_len=8))
    gates = lstm_gates(build_model(default_config("lstm"), data, seed=0), data.x_test[0])
    fig = gates_figure(gates, tokens_of(data, "test", 0))
    assert len(fig.data) == 4 and fig.data[0].z.shape == (16, 8)
    s = load_series("sunspots")
    fig = forecast_figure(s.time, s.values, (200, 250), {"model": (s.time[260:], s.values[260:])}, focus_from=240)
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 3 and fig.layout.xaxis.range[0] == s.time[240]


def test_forecasters_start_from_the_last_value():
    from labcore.models.sequence import FromLastValue

    data = load_dataset(DataConfig(name="co2", horizon=3))
    model = build_model(default_config("lstm"), data, seed=0)
    assert isinstance(model.net, FromLastValue)
    for p in model.net.net[-1].parameters():  # silence the network: what is left is the naive forecast
        torch.nn.init.zeros_(p)
    out = model(data.x_test[:4])
    np.testing.assert_allclose(out.detach().numpy(), data.x_test[:4, 0, -1:].expand(4, 3).numpy(), atol=1e-6)
    assert not isinstance(build_model(default_config("lstm"), load_dataset("recall")).net, FromLastValue)


# -- issue 19: what the Sequences page shows ------------------------------------------------------------------------
def test_the_forecast_chart_fits_the_actual_series_and_draws_it_on_top():
    """On CO₂ the y-range followed the whole series (and every forecast), so the test part was a flat line
    under seven forecast lines."""
    from labcore.viz.sequences import forecast_figure

    s = load_series("co2")
    cut2, focus = int(len(s.values) * 0.85), int(len(s.values) * 0.85) - 72
    test_t = s.time[cut2:]
    forecasts = {f"model {i}": (test_t, s.values[cut2:] + 3 * (i - 3)) for i in range(5)}
    forecasts |= {"·naive": (test_t, np.full(len(test_t), 300.0)), "·drift": (test_t, s.values[cut2:] - 40)}
    fig = forecast_figure(s.time, s.values, (int(len(s.values) * 0.7), cut2), forecasts, focus_from=focus)
    assert len(fig.data) == 8 and fig.data[-1].name == "Actual"  # drawn last: on top of all seven
    assert fig.data[-1].line.width > max(tr.line.width for tr in fig.data[:-1])
    assert fig.data[-1].legendrank < min(tr.legendrank for tr in fig.data[:-1])  # still first in the legend
    shown = s.values[focus:]
    lo, hi = fig.layout.yaxis.range
    span = shown.max() - shown.min()
    assert lo < shown.min() and hi > shown.max()  # the actual series is inside, with a margin
    assert (hi - lo) < 1.5 * span  # fitted to it, not to the whole series (or to a wild forecast)
    assert forecast_figure(s.time, s.values, (10, 20), {}).layout.yaxis.range is None  # no focus: autorange


def test_sunspot_forecasts_are_never_negative_and_other_series_are_untouched():
    from labcore.data.sequences import within_floor

    sun, co2 = load_series("sunspots"), load_series("co2")
    assert sun.floor == 0.0 and co2.floor is None and (sun.values >= 0).all()
    starts = np.arange(200, len(sun.values))
    drift = naive_forecasts(sun.values, starts, 3, sun.period)["seasonal_drift"]
    assert drift.min() < 0  # the drift rule (and a network) do predict negative spot counts
    clipped = within_floor(sun, drift)
    assert clipped.min() == 0.0 and np.array_equal(clipped[drift > 0], drift[drift > 0])
    wild = np.array([[-5.0, 320.0]])
    assert within_floor(co2, wild) is wild


def test_the_memory_intro_says_what_the_models_do_at_length_100():
    """The intro claimed the GRU keeps the first token; at length 100, with the page's own settings, it
    stops at 75% (three of four letters). The numbers the intro gives are the ones this run gives."""
    from labcore.data.sequences import MAX_SEQ_LEN
    from labcore.i18n import t
    from labcore.links import read

    values, _ = read("sequences", {})
    length, epochs = 100, values["memory.epochs"]
    assert length == MAX_SEQ_LEN  # the longest the page's slider offers
    data = DataConfig(name="recall", seq_len=length, noise=values["memory.distractors"])
    names = ["rnn", "gru", "lstm"]
    cfg = compare_config(data, [default_config(n) for n in names], epochs=epochs, lr=3e-3)
    bundle = load_dataset(data)
    acc = {}
    for i, name in enumerate(names):
        trainer = Trainer(cfg.run(i), bundle)
        trainer.fit()
        acc[name] = trainer.evaluate(bundle.x_test, bundle.y_test)[1]
    intro = t("sequences.memory_intro")
    assert acc["rnn"] <= 0.3 and "chance (25%)" in intro, acc
    assert 0.6 <= acc["gru"] <= 0.9 and "GRU settles at 75%" in intro, acc
    assert acc["lstm"] >= 0.95 and "LSTM and the Transformer still reach 100% at length 100" in intro, acc
    assert "GRU keep" not in intro and "the GRU and the Transformer keep it" not in intro
