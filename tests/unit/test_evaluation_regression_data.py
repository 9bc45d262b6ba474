"""labcore.evaluation.regression's data sets beyond the diabetes table: the generated wave and surface are seeded
and have the documented shapes and noise, the lag table's row i holds exactly the previous k values, the "lags" split
keeps time order (every test target after every training target), R² is sklearn's including negative values, and
the claims the regression tab prints (the line underfits the wave, the trees stay below the past on CO₂) hold."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from labcore.data.sequences import load_series
from labcore.evaluation import regression as reg


@pytest.fixture(scope="module")
def splits() -> dict[str, reg.RegSplit]:
    return {d: reg.load_split(data=d) for d in reg.DATASETS}


@pytest.fixture(scope="module")
def fitted(splits) -> dict[str, dict[str, reg.Fitted]]:
    return {d: {n: reg.fit_classic(n, s) for n in ("mean", "linear", "boosting")} | {"mlp": reg.fit_mlp(s)}
            for d, s in splits.items()}


def test_the_generators_are_seeded_and_have_their_shapes():
    x, y = reg.make_wave()
    assert x.shape == (reg.WAVE_SIZE, 1) and y.shape == (reg.WAVE_SIZE,)
    assert np.abs(x).max() <= reg.WAVE_RANGE
    np.testing.assert_array_equal(reg.make_wave()[1], y)
    assert not np.array_equal(reg.make_wave(seed=1)[1], y)
    noise = y - reg.wave_function(x[:, 0])
    assert noise.std() == pytest.approx(reg.WAVE_NOISE, rel=0.15) and abs(noise.mean()) < 0.05
    x2, y2 = reg.make_surface()
    assert x2.shape == (reg.SURFACE_SIZE, 2) and y2.shape == (reg.SURFACE_SIZE,)
    assert np.abs(x2).max() <= reg.SURFACE_RANGE
    np.testing.assert_array_equal(reg.make_surface()[0], x2)
    clean = np.sin(2 * x2[:, 0]) * np.cos(x2[:, 1]) + 0.5 * x2[:, 1]
    assert (y2 - clean).std() == pytest.approx(reg.SURFACE_NOISE, rel=0.15)


def test_row_i_of_the_lag_table_holds_the_previous_k_values():
    values = np.arange(20.0) ** 2
    x, y = reg.lag_table(values, 3)
    assert x.shape == (17, 3) and y.shape == (17,)
    for i in range(17):
        np.testing.assert_array_equal(x[i], values[i:i + 3])
        assert y[i] == values[i + 3]
    with pytest.raises(ValueError):
        reg.lag_table(values, 20)


def test_the_lags_split_keeps_time_order_so_there_is_no_look_ahead(splits):
    split = splits["lags"]
    values = load_series(reg.LAG_SERIES).values
    assert split.time_order and split.x_train.shape[1] == reg.LAGS
    # train, validation and test targets are the series from month LAGS on, in order, not shuffled
    np.testing.assert_array_equal(np.concatenate([split.y_train, split.y_val, split.y_test]), values[reg.LAGS:])
    first_test = reg.LAGS + len(split.y_train) + len(split.y_val)
    np.testing.assert_array_equal(split.raw_test[0], values[first_test - reg.LAGS:first_test])
    assert np.all(np.diff(split.time_test) > 0)
    n_train = len(split.y_train)
    train_times = load_series(reg.LAG_SERIES).time[reg.LAGS:reg.LAGS + n_train]
    assert train_times.max() < split.time_test.min()
    # the lags are standardised with the training rows' statistics only
    np.testing.assert_allclose(split.x_train.mean(axis=0), 0, atol=1e-4)
    assert split.x_test.mean() > 1  # the later, higher months sit above the training mean


def test_the_diffs_are_the_lags_of_the_month_to_month_changes(splits):
    split, values = splits["diffs"], load_series(reg.LAG_SERIES).values
    changes = np.diff(values)
    np.testing.assert_array_equal(np.concatenate([split.y_train, split.y_val, split.y_test]), changes[reg.LAGS:])
    first_test = reg.LAGS + len(split.y_train) + len(split.y_val)
    np.testing.assert_array_equal(split.raw_test[0], changes[first_test - reg.LAGS:first_test])
    assert split.time_test[0] == load_series(reg.LAG_SERIES).time[first_test + 1]  # a change is dated by its month
    np.testing.assert_array_equal(split.time_test, splits["lags"].time_test)  # the same test months as the levels
    assert split.y_train.min() < split.y_test.min() and split.y_test.max() < split.y_train.max()


def test_the_random_splits_are_70_15_15_and_only_the_wave_has_a_grid(splits):
    for name in ("wave", "surface"):
        s = splits[name]
        n = len(s.y_train) + len(s.y_val) + len(s.y_test)
        assert (len(s.y_train), len(s.y_test)) == (round(0.7 * n), n - round(0.7 * n) - round(0.15 * n))
        assert not s.time_order
        np.testing.assert_array_equal(reg.load_split(data=name).y_test, s.y_test)
    assert splits["wave"].x_grid.shape == (reg.GRID_SIZE, 1) and splits["surface"].grid is None
    with pytest.raises(ValueError):
        reg.load_split(data="imagenet")


def test_r2_is_sklearns_including_negative_values(splits, fitted):
    negative = 0
    for data, models in fitted.items():
        y = splits[data].y_test
        for f in models.values():
            m = reg.metrics(y, f.pred_test)
            assert m.r2 == skm.r2_score(y, f.pred_test) and m.mse == skm.mean_squared_error(y, f.pred_test)
            negative += m.r2 < 0
    lags = {n: reg.metrics(splits["lags"].y_test, f.pred_test).r2 for n, f in fitted["lags"].items()}
    assert lags["mean"] < -10 and lags["boosting"] < 0  # the past's mean and the trees: worse than the test mean
    assert lags["linear"] > 0.9 and lags["mlp"] > 0.8
    diffs = {n: reg.metrics(splits["diffs"].y_test, f.pred_test).r2 for n, f in fitted["diffs"].items()}
    assert diffs["boosting"] > 0.8 and abs(diffs["mean"]) < 0.01  # differenced, the trees reach the test months
    assert negative >= 2


def test_the_trees_cannot_reach_the_rising_test_months(splits, fitted):
    split, boost = splits["lags"], fitted["lags"]["boosting"]
    assert split.y_train.max() < split.y_test.min()  # every test month lies above the past
    assert boost.pred_test.max() <= split.y_train.max()


def test_the_straight_line_underfits_the_wave(splits, fitted):
    split, models = splits["wave"], fitted["wave"]
    r2 = {n: reg.metrics(split.y_test, f.pred_test).r2 for n, f in models.items()}
    assert r2["linear"] < 0.6 and r2["mlp"] > r2["linear"] + 0.2 and r2["boosting"] > r2["linear"] + 0.2
    assert max(r2.values()) < reg.noiseless_r2(split) < 1
    for f in models.values():
        assert f.pred_grid.shape == (reg.GRID_SIZE,) and np.isfinite(f.pred_grid).all()
    assert np.ptp(np.diff(models["linear"].pred_grid)) < 1e-6  # a straight line over x
    assert reg.metrics(split.y_test, models["mlp"].pred_test).r2 > 0.8


@pytest.mark.parametrize("data", ["wave", "surface", "lags", "diffs"])
def test_every_fit_is_fast_and_seeded(splits, fitted, data):
    for f in fitted[data].values():
        assert f.seconds < 1.0 and f.pred_test.shape == splits[data].y_test.shape
    np.testing.assert_array_equal(reg.fit_mlp(splits[data]).pred_test, fitted[data]["mlp"].pred_test)
    assert reg.metrics(splits[data].y_test, fitted[data]["mlp"].pred_test).r2 > 0.8
