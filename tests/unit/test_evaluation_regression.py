"""labcore.evaluation.regression (lesson 5): the split is seeded 70/15/15 and standardised with training
statistics, every metric is sklearn's on the same predictions, a bad predictor gets a negative R², the mean
baseline's R² is about 0, the MLP (every loss) beats the mean quickly, and outliers raise MSE far more than MAE."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from labcore.evaluation import regression as reg


@pytest.fixture(scope="module")
def split() -> reg.RegSplit:
    return reg.load_split()


def test_the_split_is_seeded_70_15_15_and_standardised_on_training_rows(split):
    assert (len(split.y_train), len(split.y_val), len(split.y_test)) == (309, 66, 67)
    np.testing.assert_allclose(split.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(split.x_train.std(axis=0), 1, atol=1e-4)
    assert abs(split.x_test.mean()) > 1e-4  # the test rows were not standardised on their own statistics
    np.testing.assert_array_equal(reg.load_split().y_test, split.y_test)


def test_every_metric_is_sklearns():
    rng = np.random.default_rng(0)
    y = rng.normal(150, 70, 80)
    pred = y + rng.normal(0, 40, 80)
    m = reg.metrics(y, pred)
    assert m.mae == skm.mean_absolute_error(y, pred)
    assert m.mse == skm.mean_squared_error(y, pred)
    assert m.rmse == pytest.approx(skm.root_mean_squared_error(y, pred), rel=1e-12)
    assert m.r2 == skm.r2_score(y, pred)


def test_a_bad_predictor_has_a_negative_r2_and_the_mean_about_zero(split):
    mean = reg.fit_classic("mean", split)
    assert abs(reg.metrics(split.y_test, mean.pred_test).r2) < 0.05
    bad = split.y_test.mean() - (split.y_test - split.y_test.mean())  # mirrored around the mean: anti-correlated
    assert reg.metrics(split.y_test, bad).r2 < 0
    assert reg.metrics(split.y_test, bad).r2 == skm.r2_score(split.y_test, bad)


@pytest.mark.parametrize("loss", reg.LOSSES)
def test_the_mlp_fits_fast_and_beats_the_mean(split, loss):
    fitted = reg.fit_mlp(split, loss)
    assert fitted.pred_test.shape == split.y_test.shape and np.isfinite(fitted.pred_test).all()
    assert fitted.seconds < 1.0
    assert reg.metrics(split.y_test, fitted.pred_test).r2 > 0.2
    np.testing.assert_array_equal(reg.fit_mlp(split, loss).pred_test, fitted.pred_test)  # seeded


@pytest.mark.parametrize("name", ["linear", "boosting"])
def test_the_classic_models_beat_the_mean(split, name):
    fitted = reg.fit_classic(name, split)
    assert reg.metrics(split.y_test, fitted.pred_test).r2 > 0.2


@pytest.mark.parametrize("k", [1, 3, 10])
def test_outliers_raise_mse_relatively_more_than_mae(split, k):
    pred = reg.fit_classic("linear", split).pred_test
    shift = reg.OUTLIER_SHIFT * split.y_train.std()
    clean, dirty, y = reg.outlier_effect(split.y_test, pred, k, shift)
    assert int((~np.isclose(y, split.y_test)).sum()) == k
    assert dirty.mse == skm.mean_squared_error(y, pred) and dirty.mae == skm.mean_absolute_error(y, pred)
    assert dirty.mse / clean.mse > dirty.mae / clean.mae > 1
    none, again, y0 = reg.outlier_effect(split.y_test, pred, 0, shift)
    assert none == again and np.array_equal(y0, split.y_test)
