"""The sweep on Ray Tune (issue 14): a tiny sweep on a local Ray instance (LAB_RAY_ADDRESS=local) reports every
trial, ASHA cuts the weaker one, and the whole thing, ray.init included, stays under a minute."""

from __future__ import annotations

import time

import pytest

from labcore.sweep import SweepConfig, SweepJob

pytestmark = pytest.mark.cluster


def test_a_tune_sweep_reports_every_trial(ray_local):
    cfg = SweepConfig(model="mlp", lrs=(0.001, 0.01), batch_sizes=(64,), optimizers=("adam",), epochs=2, eta=2,
                      parallel=2, backend="ray")
    job = SweepJob(cfg, threads=1)
    start = time.perf_counter()
    job.start()
    assert job.join(120)
    seconds = time.perf_counter() - start
    assert job.status == "finished", job.error
    rows = job.rows()
    assert len(rows) == 2 and all(r.val_acc for r in rows)  # a result for every trial
    assert all(0.0 <= a <= 1.0 for r in rows for a in r.val_acc)
    assert {r.state for r in rows} <= {"finished", "cut"} and "finished" in {r.state for r in rows}
    assert max(r.epochs for r in rows) == 2
    for r in rows:
        assert r.state == ("finished" if r.epochs == 2 else "cut")
    assert job.ray_init_s is not None
    print(f"ray sweep: {seconds:.1f} s, ray.init {job.ray_init_s:.1f} s")
    assert seconds < 60
