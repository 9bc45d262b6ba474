"""Lessons 21 and 23: the deployment and responsibility checklists, computed from a run where the lab can
check (round trips, the service's own input checks and answer, test interval, classes, drift, data source)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.i18n import languages, t
from labcore.metrics import accuracy_interval, classification_report
from labcore.serve import api, checklist
from labcore.serve.bundle import Check, build_bundle
from labcore.train.job import Outcome
from labcore.train.trainer import Trainer


@pytest.fixture(scope="module")
def run():
    cfg = RunConfig().with_(model={"name": "mlp", "depth": 1, "width": 24, "batch_norm": False}, train={"epochs": 2})
    data = load_dataset(cfg.data)
    trainer = Trainer(cfg, data)
    trainer.fit()
    model = trainer.model.eval()
    y_prob = trainer.predict_proba(data.x_test)
    y_true = data.y_test.numpy()
    report = classification_report(y_true, y_prob, data.class_names)
    outcome = Outcome(0.5, report.accuracy, y_true, y_prob, report, 2, False)
    return cfg, outcome, build_bundle(model, cfg, data, outcome)


def _by_key(items):
    return {i.key: i for i in items}


def _texts(items):
    """Every item reads in every language with its parameters (a missing placeholder raises)."""
    for lang in languages():
        for i in items:
            assert t(f"serve.checklist.{i.key}", lang, **i.params).strip()


def test_the_deployment_checklist_of_a_digits_run(run):
    _, outcome, bundle = run
    items = checklist.deployment(bundle, outcome)
    _texts(items)
    got = _by_key(items)
    assert got["exported"].state == checklist.DONE
    assert float(got["exported"].params["diff"]) == pytest.approx(bundle.checks["torchscript"].max_abs_diff, abs=1e-9)
    assert got["inputs"].state == checklist.DONE and got["inputs"].params["refused"] == got["inputs"].params["sent"] >= 6
    served = got["served_same"]  # the service answers the example as the lab predicted that test row
    assert served.params["label"] == bundle.meta["dataset"]["classes"][int(outcome.y_prob[0].argmax())]
    assert served.params["conf"] == f"{100 * outcome.y_prob[0].max():.1f} %"
    assert got["metadata"].params["seed"] == 0 and got["metadata"].params["torch"]
    assert [i.key for i in items if i.state == checklist.OPEN][-4:] == [f"q_{q}" for q in checklist.DEPLOY_QUESTIONS]


def test_the_checklist_says_what_it_could_not_check(run, monkeypatch):
    _, outcome, bundle = run
    unchecked = dataclasses.replace(bundle, checks={**bundle.checks, "onnx": Check(skipped="onnxruntime")})
    assert _by_key(checklist.deployment(unchecked, outcome))["onnx_unchecked"].state == checklist.OPEN
    broken = dataclasses.replace(bundle, checks={**bundle.checks, "torchscript": Check(skipped="error", error="boom")})
    got = _by_key(checklist.deployment(broken, outcome))
    assert got["export_failed"].state == checklist.WARN and got["export_failed"].params["reason"] == "boom"
    assert "served_same" not in got  # no service answer without a TorchScript file that loads

    other = dataclasses.replace(outcome, y_prob=np.roll(outcome.y_prob, 1, axis=1))  # the lab "said" another class
    assert _by_key(checklist.deployment(bundle, other))["served_differs"].state == checklist.WARN

    real = api.to_input
    monkeypatch.setattr(api, "to_input", lambda payload, meta: real(payload, meta) if isinstance(payload, dict) else None)
    got = _by_key(checklist.deployment(bundle, outcome))  # a service that takes a JSON list
    assert got["inputs_leak"].state == checklist.WARN and got["inputs_leak"].params["names"] == "not_object"
    _texts(got.values())


def test_every_bad_request_is_refused_for_tables_too():
    meta = {"dataset": {"kind": "tabular", "input_shape": [4], "classes": ["a", "b"], "name": "t"}}
    refused, sent, accepted, through = checklist.input_checks(meta)
    assert refused == sent == len(checklist.bad_requests(meta)) and accepted and through == []


def _outcome(y_true, y_pred, k):
    y_prob = np.eye(k)[y_pred]
    report = classification_report(np.asarray(y_true), y_prob, [f"c{i}" for i in range(k)])
    return SimpleNamespace(y_true=np.asarray(y_true), y_prob=y_prob, report=report, test_accuracy=report.accuracy)


def test_the_responsibility_checklist_finds_the_weakest_class():
    cfg = RunConfig()
    # class 0: 10/10 right, class 1: 9/10, class 2: 4/10
    y_true = [0] * 10 + [1] * 10 + [2] * 10
    y_pred = [0] * 10 + [1] * 9 + [0] + [2] * 4 + [1] * 6
    out = _outcome(y_true, y_pred, 3)
    assert checklist.per_class(out) == [("c2", 0.4, 10), ("c1", 0.9, 10), ("c0", 1.0, 10)]
    report = SimpleNamespace(threshold=0.8, reference=0.85, alert_week=3)
    items = checklist.responsibility(cfg, {"test_metrics": {}}, out, report)
    _texts(items)
    got = _by_key(items)
    lo, hi = accuracy_interval(23 / 30, 30)
    assert got["test_score"].params == {"acc": "76.7 %", "lo": f"{100 * lo:.1f} %", "hi": f"{100 * hi:.1f} %", "n": 30}
    gap = got["fair_gap"]
    assert gap.state == checklist.WARN and gap.params["name"] == "c2" and gap.params["acc"] == "40.0 %"
    assert gap.params["gap"] == "36.7" and gap.params["best"] == "c0"
    assert got["drift_alert"].params["week"] == 3 and got["drift_alert"].params["threshold"] == "80.0 %"
    assert got["source_digits"].state == checklist.DONE
    assert got["reproducible"].params == {"seed": 0, "data_seed": 0}

    even = _outcome([0] * 10 + [1] * 10, [0] * 9 + [1] + [1] * 9 + [0], 2)  # both classes at 90 %
    got = _by_key(checklist.responsibility(cfg, {}, even, None))
    assert got["fair"].state == checklist.DONE and "drift_none" in got
    assert got["test_score"].state == checklist.WARN  # no test scores in the metadata


@pytest.mark.parametrize(("name", "key", "state"), [
    ("digits", "source_digits", checklist.DONE), ("fashion_mnist", "source_fashion_mnist", checklist.DONE),
    ("mnist", "source_mnist", checklist.OPEN), ("cifar10", "source_cifar10", checklist.OPEN),
    ("moons", "source_generated", checklist.DONE), ("sentiment", "source_unknown", checklist.OPEN),
])
def test_the_data_source_item(name, key, state):
    cfg = SimpleNamespace(data=SimpleNamespace(name=name, seed=0), train=SimpleNamespace(seed=1))
    out = _outcome([0, 1], [0, 1], 2)
    got = _by_key(checklist.responsibility(cfg, {}, out))
    assert got[key].state == state
    _texts(got.values())
