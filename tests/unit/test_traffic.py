"""Lesson 23, drift in real traffic: the service's bounded request log, the KS and PSI statistics, and a real
stream of requests to a running service that flags the shifted half and not the clean one."""

from __future__ import annotations

import json
import threading
import urllib.request

import numpy as np
import pytest
import torch
from scipy.stats import ks_2samp

from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.serve import traffic
from labcore.serve.api import RequestLog
from labcore.serve.bundle import build_bundle
from labcore.train.trainer import Trainer


def test_the_request_log_is_bounded_and_safe_with_many_writers():
    log = RequestLog(size=2000)
    x = torch.full((1, 1, 4, 4), 0.25)

    def write(k: int) -> None:
        for i in range(500):
            log.add(x, k, i / 500)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    snap = log.snapshot()
    assert log.served == 8000 and len(log) == 2000 and len(snap["seq"]) == 2000
    assert snap["seq"] == list(range(6001, 8001))  # the newest 2000, none lost, none twice
    assert set(snap["mean"]) == {0.25} and set(snap["std"]) == {0.0}
    assert sorted(np.bincount(snap["prediction"], minlength=16))[-1] <= 500
    assert log.snapshot(since=7990)["seq"] == list(range(7991, 8001))


def _psi_by_hand(expected, actual, bins=10, eps=1e-4):
    """The textbook recipe, one bin at a time: decile edges of the expected values, outer bins open."""
    edges = np.quantile(expected, [i / bins for i in range(1, bins)])
    total = 0.0
    for b in range(bins):
        lo = -np.inf if b == 0 else edges[b - 1]
        hi = np.inf if b == bins - 1 else edges[b]
        e = max(np.mean((expected >= lo) & (expected < hi)), eps)
        a = max(np.mean((actual >= lo) & (actual < hi)), eps)
        total += (a - e) * np.log(a / e)
    return total


def test_psi_and_ks_match_reference_computations():
    g = np.random.default_rng(1)
    ref, same, moved = g.normal(0, 1, 5000), g.normal(0, 1, 400), g.normal(0.5, 1.3, 400)
    for actual in (same, moved, g.uniform(-5, 5, 50)):
        assert traffic.psi(ref, actual) == pytest.approx(_psi_by_hand(ref, actual), rel=1e-9)
        d, p = traffic.ks(ref, actual)
        gap = max(abs(np.mean(ref <= v) - np.mean(actual <= v)) for v in np.concatenate([ref, actual]))
        assert d == pytest.approx(gap) and p == pytest.approx(ks_2samp(ref, actual).pvalue)
    assert traffic.psi(ref, same) < 0.05 < 0.25 < traffic.psi(ref, moved)
    assert traffic.ks(ref, same)[1] > 0.01 > 1e-6 > traffic.ks(ref, moved)[1]


@pytest.fixture(scope="module")
def digits_run():
    cfg = RunConfig().with_(model={"name": "mlp", "depth": 2, "width": 32, "batch_norm": True}, train={"epochs": 2})
    data = load_dataset(cfg.data)
    trainer = Trainer(cfg, data)
    trainer.fit()
    model = trainer.model.eval().cpu()
    return model, data, build_bundle(model, cfg, data)


def test_a_real_stream_flags_the_shifted_half_and_not_the_clean_one(digits_run):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from labcore.serve import service

    model, data, bundle = digits_run
    ref = traffic.reference(model, data.x_train, data.x_val)
    assert set(ref) == set(traffic.FEATURES) and len(ref["confidence"]) == len(data.x_val)
    svc = service.start(bundle.files["model.pt"], bundle.meta)
    try:
        run = traffic.live(svc.url, data.x_test, data.y_test, "brightness", traffic.level_of("brightness", 2),
                           requests=120)
        with urllib.request.urlopen(svc.url + "/monitor?since=235", timeout=5) as r:
            tail = json.loads(r.read())
    finally:
        assert svc.stop()
    assert not svc.thread.is_alive() and not service.port_in_use(svc.port)
    assert tail["served"] == 240 and tail["seq"] == list(range(236, 241)) and tail["size"] == 2000
    rows = run.rows
    assert rows["seq"].tolist() == list(range(1, 241)) and run.shift_from == 121
    assert rows["prediction"].tolist() == run.answers  # the log holds what the service answered
    sent = torch.cat([data.x_test[:120], (data.x_test[120:240] + 0.16).clamp(0, 1)])
    want = traffic.summaries(sent)
    np.testing.assert_allclose(rows["mean"], want["mean"], atol=1e-4)  # the requests round pixels to 4 decimals
    np.testing.assert_allclose(rows["std"], want["std"], atol=1e-4)
    with torch.no_grad():
        conf = torch.softmax(model(sent), 1).amax(1).numpy()
    np.testing.assert_allclose(rows["confidence"], conf, atol=1e-3)
    assert run.accuracy(False) > 0.8 and run.throughput > 20

    windows = traffic.scan(rows, ref, 10, shift_from=run.shift_from, window=40)
    assert [w.shifted for w in windows] == [0, 0, 0, 40, 40, 40]
    assert [w.flagged for w in windows] == [False, False, False, True, True, True]
    found = traffic.alarms(windows, run.shift_from)
    assert (found.false_alarms, found.clean_windows, found.delay) == (0, 3, 40)
    for feature in traffic.FEATURES:
        assert traffic.histogram_figure(ref, run, feature).data[0].name == "Training data"
    assert len(traffic.windows_figure(windows).data) == 5  # 3 features, the threshold, the flagged windows
    assert sum(sum(w.classes) for w in windows) == 240


def test_a_service_that_does_not_answer_is_a_clear_error(digits_run):
    from labcore.i18n import LabError
    from labcore.serve import service

    _, data, _ = digits_run
    with pytest.raises(LabError) as e:
        traffic.live(f"http://127.0.0.1:{service.free_port()}", data.x_test, data.y_test, "noise", 0.1, requests=3)
    assert e.value.key == "serve.traffic.failed"
