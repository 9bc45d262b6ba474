"""Lesson 23, the drift monitor: week 0 is the test set as it was, the accuracy falls as the images shift, and
the alert week is the first one below the threshold."""

from __future__ import annotations

import pytest
import torch

from labcore.config import RunConfig
from labcore.serve import drift
from labcore.train.job import TrainingJob


@pytest.fixture(scope="module")
def digits_job():
    cfg = RunConfig().with_(data={"name": "digits"}, model={"name": "cnn"},
                            train={"epochs": 6, "device": "cpu", "num_threads": 1, "inspect": False})
    job = TrainingJob(cfg).start()
    assert job.join(120) and job.status == "finished", job.status
    return job


def _report(job, kind, weeks=10, drop=drift.DROP):
    d = job.trainer.data
    return drift.monitor(job.trainer.model, d.x_test, d.y_test, d.x_val, d.y_val, kind=kind, weeks=weeks, drop=drop)


@pytest.mark.parametrize("kind", drift.SHIFTS)
def test_week_0_is_the_test_accuracy_and_the_shift_makes_it_fall(digits_job, kind):
    report = _report(digits_job, kind)
    assert report.accuracy[0] == pytest.approx(digits_job.outcome.test_accuracy, abs=1e-12)
    assert report.accuracy[0] > 0.8 and report.levels[0] == 0 and len(report.accuracy) == 11
    assert report.accuracy[-1] < report.accuracy[0] - 0.2, report.accuracy  # the drift hurts, a lot by week 10
    assert report.reference == pytest.approx(drift.accuracy(digits_job.trainer.model, digits_job.trainer.data.x_val,
                                                            digits_job.trainer.data.y_val))
    assert report.threshold == pytest.approx(report.reference - drift.DROP / 100)


@pytest.mark.parametrize("kind", drift.SHIFTS)
def test_the_alert_week_is_the_first_below_the_threshold(digits_job, kind):
    report = _report(digits_job, kind)
    w = report.alert_week
    assert w is not None and 0 < w <= 10
    assert report.accuracy[w] < report.threshold
    assert all(a >= report.threshold for a in report.accuracy[:w])
    never = _report(digits_job, kind, drop=200)  # a threshold below zero never fires
    assert never.alert_week is None
    fig = drift.drift_figure(report)
    assert len(fig.data) == 3 and list(fig.data[2].x) == [w]
    assert len(drift.drift_figure(never).data) == 2


def test_the_shifts_do_what_they_say():
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(drift.shift(x, "noise", 0.0), x)
    assert drift.shift(x, "brightness", 0.2).mean() > x.mean()
    noisy = drift.shift(x, "noise", 0.1)
    assert torch.equal(noisy, drift.shift(x, "noise", 0.1)) and not torch.equal(noisy, x)  # seeded
    turned = drift.shift(x, "rotation", 90.0)
    assert torch.allclose(turned[0, 0], torch.rot90(x[0, 0], 1), atol=1e-5) or \
        torch.allclose(turned[0, 0], torch.rot90(x[0, 0], -1), atol=1e-5)
    with pytest.raises(ValueError):
        drift.shift(x, "blur", 1.0)
