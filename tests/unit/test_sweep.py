"""Hyperparameter sweeps (issue 14): the search space, synchronous successive halving, the local sweep job and
its figures."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from labcore import links
from labcore.links import LEARNING_RATES
from labcore.sweep import SweepConfig, SweepJob, budget, keep_count, plan, promote, run_config, rungs, size, trials
from labcore.sweep.space import train_query
from labcore.viz.sweep import curves_figure, heatmap_figure, heatmap_table, parcoords_figure


def test_a_grid_tries_every_combination_once():
    cfg = SweepConfig(lrs=(0.001, 0.01, 0.1), batch_sizes=(32, 128), optimizers=("adam", "sgd"), widths=(16, 32))
    got = trials(cfg)
    assert len(got) == size(cfg) == 3 * 2 * 2 * 2
    combos = {(t.lr, t.batch_size, t.optimizer, t.width) for t in got}
    assert combos == set(itertools.product(cfg.lrs, cfg.batch_sizes, cfg.optimizers, cfg.widths))
    assert [t.index for t in got] == list(range(len(got)))
    assert trials(SweepConfig(optimizers=())) == []


def test_a_seeded_random_search_draws_the_same_trials_again():
    cfg = SweepConfig(method="random", lrs=(1e-4, 0.1), samples=10, seed=3, widths=(16, 32, 64))
    first, again = trials(cfg), trials(cfg)
    assert first == again and len(first) == size(cfg) == 10
    assert trials(SweepConfig(method="random", lrs=(1e-4, 0.1), samples=10, seed=4, widths=(16, 32, 64))) != first
    for t in first:  # on the Train page's ladder, between the smallest and the largest rate chosen
        assert t.lr in LEARNING_RATES and 1e-4 <= t.lr <= 0.1
        assert t.batch_size in cfg.batch_sizes and t.optimizer in cfg.optimizers and t.width in cfg.widths
    assert len({t.lr for t in first}) > 2  # more distinct rates than the two end points


def test_a_trial_opens_on_the_train_page_as_it_ran():
    cfg = SweepConfig(data="moons", model="mlp", widths=(64,), optimizers=("sgd",), epochs=3)
    for t in trials(cfg):
        run = run_config(cfg, t)
        values, ignored = links.read("train", train_query(cfg, t))
        assert ignored == []
        assert links.train_config(values) == run


def test_rungs():
    assert rungs(4, 2) == [1, 2, 4]
    assert rungs(9, 3) == [1, 3, 9]
    assert rungs(5, 2) == [1, 2, 4, 5]
    assert rungs(1, 3) == [1]
    assert plan(12, 4, 2) == [(1, 12), (2, 6), (4, 3)]
    assert budget(12, 4, 2) == 12 * 1 + 6 * 1 + 3 * 2


@pytest.mark.parametrize("eta", [2, 3])
def test_successive_halving_keeps_exactly_the_top_one_over_eta(eta):
    rng = random.Random(eta)
    for n in range(1, 30):
        scores = {i: rng.random() for i in range(n)}
        kept = promote(scores, eta)
        assert len(kept) == keep_count(n, eta) == max(1, n // eta)
        best = max(scores, key=scores.get)
        assert best in kept
        worst_kept = min(scores[i] for i in kept)
        assert all(scores[i] <= worst_kept for i in scores if i not in kept)
    assert promote({0: math.nan, 1: 0.2, 2: 0.1, 3: math.nan}, 2) == [1, 2]  # a diverged trial never goes on


def _sweep(**changes) -> SweepJob:
    cfg = SweepConfig(**{"model": "mlp", "lrs": (0.001, 0.1), "batch_sizes": (64,), "optimizers": ("adam", "sgd"),
                         "epochs": 3, "eta": 2, **changes})
    job = SweepJob(cfg, threads=1)
    job.start()
    assert job.join(60)
    return job


def test_a_local_sweep_cuts_the_weak_trials_and_keeps_the_best():
    job = _sweep()
    assert job.status == "finished", job.error
    rows = job.rows()
    assert len(rows) == 4 and all(r.val_acc for r in rows)
    best = job.best()
    assert all(best.best >= r.best for r in rows)
    # 4 trials -> 2 after epoch 1 -> 1 after epoch 2, which trains all 3 epochs
    assert sorted(r.epochs for r in rows) == [1, 1, 2, 3]
    assert [r.state for r in rows].count("finished") == 1 and [r.state for r in rows].count("cut") == 3
    finished = next(r for r in rows if r.state == "finished")
    for r in rows:
        if r.state == "cut":
            assert r.epochs == r.cut_at < finished.epochs
    # at each rung the trials that went on had the better accuracy there
    first = [r for r in rows if r.epochs == 1]
    on = [r for r in rows if r.epochs > 1]
    assert min(r.val_acc[0] for r in on) >= max(r.val_acc[0] for r in first)
    assert job.progress().fraction == pytest.approx(1.0)
    assert sum(r.epochs for r in rows) == job.budget == budget(4, 3, 2)


def test_a_stopped_sweep_stops_every_trial():
    cfg = SweepConfig(model="cnn", epochs=6, lrs=(0.001, 0.01), batch_sizes=(16,), optimizers=("adam", "sgd"))
    job = SweepJob(cfg, threads=1)
    job.start()
    job.wait_first_step(5)
    job.pause()
    assert job.status == "paused"
    job.stop()
    assert job.join(20)
    assert job.status == "stopped"
    assert [r.state for r in job.rows()] == ["stopped"] * 4  # the one training and the three never started
    assert sum(r.epochs for r in job.rows()) < job.budget


def test_the_figures_show_every_trial():
    job = _sweep()
    rows = job.rows()
    curves = curves_figure(rows, rungs(3, 2))
    assert len(curves.data) == 4
    assert sum(1 for s in curves.data if s.line.dash == "dot") == 3  # the cut trials
    lrs, batches, z = heatmap_table(rows)
    assert lrs == [0.001, 0.1] and batches == [64]
    for i, lr in enumerate(lrs):
        assert z[i, 0] == pytest.approx(max(r.best for r in rows if r.trial.lr == lr))
    assert heatmap_figure(rows).data[0].type == "heatmap"
    par = parcoords_figure(rows).data[0]
    assert par.type == "parcoords" and len(par.dimensions) == 6
    assert list(par.dimensions[-1]["values"]) == [r.best for r in rows]


def test_the_sweep_never_imports_ray_unless_the_ray_backend_runs():
    import subprocess
    import sys

    code = ("import sys, labcore.sweep, labcore.sweep.ray_backend, labcore.viz.sweep, labcore.links; "
            "labcore.links.sweep({'data': 'digits', 'method': 'grid'}); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"LAB_RAY_ADDRESS": "local", "PATH": ""})
    assert out.stdout.strip() == "False", out.stderr
