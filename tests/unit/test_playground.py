"""Optimizer playground: paths equal hand-written torch.optim loops, Lion and Adam variants match their
references, the book's example has its three regimes, surfaces have their minima, links round-trip."""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace

import numpy as np
import plotly.io
import pytest
import torch

from labcore.config import OptimConfig
from labcore.i18n import t
from labcore.playground import book
from labcore.playground import trajectories as traj_module
from labcore.playground.config import (
    EPS_CHOICES,
    LR_CHOICES,
    RANGES,
    WEIGHT_DECAY_CHOICES,
    OptimizerSetup,
    default_config,
    start_step,
    with_surface,
)
from labcore.playground.share import from_fields, from_query, to_fields, to_query
from labcore.playground.surfaces import SURFACES
from labcore.playground.trajectories import PathCache, Trajectory, run
from labcore.train.optimizers import OPTIMIZERS, Lion, SwitchableAdam
from labcore.viz.landscape import contour_figure, log_levels, loss_vs_step_figure, parabola_figure

# -- optimizers: the two that are not torch.optim's own ------------------------------------------------------


def _random_problem(seed: int, shapes=((5,), (3, 4), (2,))) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Parameters and per-step gradients (100 steps) for a few tensors, float64."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    grads = [[torch.randn(s, generator=g, dtype=torch.float64) for s in shapes] for _ in range(100)]
    return params, grads


def _steps(optimizer_cls, params: list[torch.Tensor], grads, **kwargs) -> list[torch.Tensor]:
    params = [p.clone() for p in params]
    optimizer = optimizer_cls(params, **kwargs)
    for step_grads in grads:
        for p, gr in zip(params, step_grads, strict=True):
            p.grad = gr.clone()
        optimizer.step()
    return params


def test_lion_matches_the_reference_lion_pytorch_package():
    try:
        from lion_pytorch import Lion as ReferenceLion
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("lion-pytorch (a test extra) is not installed")
    for seed, kwargs in enumerate([{"lr": 1e-3}, {"lr": 0.02, "betas": (0.8, 0.95), "weight_decay": 0.1},
                                   {"lr": 3e-4, "betas": (0.9, 0.99), "weight_decay": 0.01}]):
        params, grads = _random_problem(seed)
        ours, reference = _steps(Lion, params, grads, **kwargs), _steps(ReferenceLion, params, grads, **kwargs)
        for a, b in zip(ours, reference, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
        assert not torch.equal(ours[0], params[0])  # it moved


@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}])
def test_switchable_adam_with_bias_correction_is_torch_adam(kwargs):
    params, grads = _random_problem(3)
    ours = _steps(SwitchableAdam, params, grads, **kwargs)
    reference = _steps(torch.optim.Adam, params, grads, **kwargs)
    for a, b in zip(ours, reference, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_switchable_adam_without_bias_correction_follows_the_books_formulas():
    params, grads = _random_problem(4, shapes=((6,),))
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    ours = _steps(SwitchableAdam, params, grads, lr=lr, betas=(beta1, beta2), eps=eps, bias_correction=False)[0]
    theta, m, v = params[0].clone(), torch.zeros(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    for (g,) in grads:  # Eqs 14.2-14.4, no 1/(1 - beta^t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        theta = theta - lr * m / (v.sqrt() + eps)
    torch.testing.assert_close(ours, theta, rtol=0, atol=1e-9)
    with_correction = _steps(SwitchableAdam, params, grads[:1], lr=lr)[0]
    without = _steps(SwitchableAdam, params, grads[:1], lr=lr, bias_correction=False)[0]
    # First step: |Δ| = lr with the correction, lr·(1-β₁)/√(1-β₂) ≈ 3.2·lr without it.
    ratio = (without - params[0]).abs() / (with_correction - params[0]).abs()
    torch.testing.assert_close(ratio, torch.full_like(ratio, (1 - beta1) / math.sqrt(1 - beta2)), rtol=1e-5, atol=0)


def test_switchable_adam_is_not_in_the_train_pages_registry():
    assert "adam" in OPTIMIZERS
    assert all(spec.build.__name__ != "SwitchableAdam" for spec in map(OPTIMIZERS.get, OPTIMIZERS))


# -- trajectories: exactly what a direct torch.optim loop does ----------------------------------------------

DIRECT = {  # built straight from torch.optim (and Lion), independent of the lab's registry
    "sgd": lambda p, c: torch.optim.SGD(p, lr=c.lr, weight_decay=c.weight_decay),
    "momentum": lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
    "nesterov": lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum, nesterov=True),
    "adagrad": lambda p, c: torch.optim.Adagrad(p, lr=c.lr, eps=c.eps),
    "rmsprop": lambda p, c: torch.optim.RMSprop(p, lr=c.lr, alpha=c.alpha, eps=c.eps),
    "adam": lambda p, c: torch.optim.Adam(p, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps),
    "adamw": lambda p, c: torch.optim.AdamW(p, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps,
                                            weight_decay=c.weight_decay),
    "lion": lambda p, c: Lion(p, lr=c.lr, betas=(c.beta1, c.beta2), weight_decay=c.weight_decay),
}


def _direct_loop(surface, setup: OptimizerSetup, start, steps: int) -> np.ndarray:
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    if setup.bias_correction:
        optimizer = DIRECT[setup.name]([p], setup.config)
    else:
        c = setup.config
        optimizer = SwitchableAdam([p], lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps, bias_correction=False)
    points = [p.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        x, y = p[0], p[1]
        surface.formula(x, y, torch).backward()
        optimizer.step()
        points.append(p.detach().clone())
    return torch.stack(points).numpy()


@pytest.mark.parametrize("surface", SURFACES.names())
def test_paths_equal_direct_torch_optim_loops(surface):
    s = SURFACES.get(surface)
    setups = [replace(x, enabled=True) for x in default_config(surface).optimizers]
    setups.append(replace(setups[5], bias_correction=False))  # Adam without bias correction
    setups.append(replace(setups[1], config=replace(setups[1].config, weight_decay=0.01)))
    paths = run(s, setups, s.start, 150)
    assert [p.setup for p in paths] == setups
    for path in paths:
        expected = _direct_loop(s, path.setup, s.start, 150)
        assert path.diverged_at is None, path.name
        np.testing.assert_allclose(path.xy, expected, rtol=1e-9, atol=1e-12, err_msg=path.name)
        np.testing.assert_allclose(path.loss, s.numpy(expected[:, 0], expected[:, 1]), rtol=1e-9, atol=1e-12)


def test_a_path_that_blows_up_is_cut_and_marked_and_the_others_are_untouched():
    s = SURFACES.get("rosenbrock")
    good = default_config("rosenbrock").setup("adam")
    bad = OptimizerSetup(OptimConfig(name="sgd", lr=10.0))
    alone = run(s, [good], s.start, 100)[0]
    together = run(s, [bad, good], s.start, 100)
    blown = together[0]
    assert blown.diverged_at is not None and 1 <= blown.diverged_at <= 10
    assert np.isnan(blown.xy[blown.diverged_at:]).all()
    assert np.isfinite(blown.xy[: blown.diverged_at]).all()
    assert blown.last == blown.diverged_at - 1
    np.testing.assert_array_equal(together[1].xy, alone.xy)
    assert together[1].diverged_at is None and together[1].last == 100


def test_no_optimizer_means_no_paths():
    assert run(SURFACES.get("ravine"), [], (0.0, 0.0), 10) == []


def test_path_cache_recomputes_only_what_changed(monkeypatch):
    calls = []
    real_run = traj_module.run

    def counting_run(surface, setups, start, steps):
        calls.append(len(setups))
        return real_run(surface, setups, start, steps)

    monkeypatch.setattr(traj_module, "run", counting_run)
    s, cfg = SURFACES.get("beale"), default_config("beale")
    cache = PathCache()
    setups = list(cfg.optimizers)
    first = cache.paths(s, setups, s.start, 50)
    changed = replace(setups[2], config=replace(setups[2].config, lr=0.001))
    second = cache.paths(s, [*setups[:2], changed, *setups[3:]], s.start, 50)
    cache.paths(s, setups, (1.0, 1.0), 50)  # a new start: everything again
    assert calls == [8, 1, 8]
    assert second[0] is first[0] and second[2] is not first[2]
    np.testing.assert_array_equal(second[2].xy, run(s, [changed], s.start, 50)[0].xy)


# -- the book's one-weight example ---------------------------------------------------------------------------


def test_book_example_first_step_is_the_books_number():
    assert book.loss(book.W0) == 16
    assert book.descend(0.1, 1)[1] == pytest.approx(2.6)  # Eq 3.7


def test_book_example_small_steps_converge_without_overshooting():
    err = book.descend(0.1, 10) - book.W_STAR  # shrinks 5x a step: exactly 0.0 in float64 after ~23
    assert (err < 0).all()  # always on the starting side of w* = 3
    assert (np.diff(np.abs(err)) < 0).all() and abs(err[-1]) < 1e-6
    assert book.regime(0.1) == "smooth"


def test_book_example_medium_steps_oscillate_but_converge():
    err = book.descend(0.2, 30) - book.W_STAR
    assert (np.sign(err[1:]) != np.sign(err[:-1])).all()  # every step crosses w* = 3
    assert (np.diff(np.abs(err)) < 0).all() and abs(err[-1]) < 1e-5
    assert book.regime(0.2) == "oscillating"


def test_book_example_large_steps_diverge():
    err = book.descend(0.3, 30) - book.W_STAR
    assert (np.sign(err[1:]) != np.sign(err[:-1])).all()
    assert (np.diff(np.abs(err)) > 0).all() and abs(err[-1]) > 1000
    assert book.regime(0.3) == "diverging"


def test_book_example_boundaries():
    assert (book.SMOOTH_LIMIT, book.DIVERGE_LIMIT) == (0.125, 0.25)
    assert book.regime(0.125) == "one_step" and book.descend(0.125, 3)[1:] == pytest.approx([3, 3, 3])
    assert book.regime(0.25) == "bouncing" and book.descend(0.25, 4) == pytest.approx([1, 5, 1, 5, 1])
    assert book.regime(0.12500000000000003) == "one_step"
    assert book.factor(0.2) == pytest.approx(-0.6)


# -- surfaces ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", SURFACES.names())
def test_every_surface_has_its_minima_where_the_gradient_vanishes(surface):
    s = SURFACES.get(surface)
    x0, x1, y0, y1 = s.box
    assert x0 <= s.start[0] <= x1 and y0 <= s.start[1] <= y1
    assert t(s.about_key) and t(f"playground.surface_{surface}")
    for m in s.minima:
        assert x0 < m[0] < x1 and y0 < m[1] < y1
        p = torch.tensor(m, dtype=torch.float64, requires_grad=True)
        value = s.torch(p)
        (grad,) = torch.autograd.grad(value, p)
        assert value.item() < 1e-9 and grad.norm().item() < 1e-3, (m, value.item(), grad)
        # a minimum, not a saddle: every nearby point is higher
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        ring = np.array(m) + 1e-2 * np.column_stack([np.cos(angles), np.sin(angles)])
        assert (s.numpy(ring[:, 0], ring[:, 1]) > value.item()).all()
    grid = s.grid(60)[2]
    assert grid.shape == (60, 60) and np.nanmin(grid) >= 0  # every surface is >= 0: log levels work


@pytest.mark.parametrize("surface", SURFACES.names())
def test_the_numpy_and_torch_formulas_agree(surface):
    s = SURFACES.get(surface)
    xy = np.random.default_rng(0).uniform(-3, 3, size=(50, 2))
    np.testing.assert_allclose(s.numpy(xy[:, 0], xy[:, 1]), s.torch(torch.from_numpy(xy)).numpy(), rtol=1e-12)


def test_default_learning_rates_are_offered_and_no_default_path_diverges():
    for surface in SURFACES.names():
        cfg = default_config(surface)
        assert {s.config.lr for s in cfg.optimizers} <= set(LR_CHOICES)
        s = SURFACES.get(surface)
        paths = run(s, [replace(x, enabled=True) for x in cfg.optimizers], cfg.start, cfg.steps)
        assert all(p.diverged_at is None for p in paths), surface
        assert all(p.loss[-1] < p.loss[0] for p in paths), surface


# -- sharing: config <-> fields <-> URL ---------------------------------------------------------------------


def _random_config(rng: np.random.Generator) -> object:
    surface = rng.choice(SURFACES.names())
    cfg = default_config(str(surface))
    x0, _, y0, _ = SURFACES.get(cfg.surface).box
    dx, dy = start_step(cfg.surface)
    setups = []
    for s in cfg.optimizers:
        values = {}
        for option in s.options():
            if option == "lr":
                values[option] = float(rng.choice(LR_CHOICES))
            elif option == "eps":
                values[option] = float(rng.choice(EPS_CHOICES))
            elif option == "weight_decay":
                values[option] = float(rng.choice(WEIGHT_DECAY_CHOICES))
            else:
                lo, hi, _ = RANGES[option]
                values[option] = round(float(rng.uniform(lo, hi)), 4)
        setups.append(replace(s, config=replace(s.config, **values), enabled=bool(rng.integers(2)),
                              bias_correction=s.name != "adam" or bool(rng.integers(2))))
    start = (x0 + int(rng.integers(0, 200)) * dx, y0 + int(rng.integers(0, 200)) * dy)
    return replace(cfg, start=start, steps=int(rng.integers(1, 100)) * 10, optimizers=tuple(setups),
                   book_lr=round(float(rng.uniform(0.01, 0.35)), 3))


def test_config_to_url_and_back_is_the_same_config():
    rng = np.random.default_rng(0)
    for _ in range(200):
        cfg = _random_config(rng)
        query = to_query(cfg)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
        assert from_query(query) == cfg, query
        assert from_fields(to_fields(cfg)) == cfg


def test_default_setups_make_short_links():
    for surface in SURFACES.names():
        assert to_query(default_config(surface)) == {"surface": surface}
        assert from_query({"surface": surface}) == default_config(surface)
    assert from_query({}) == default_config()


def test_a_link_with_bad_values_still_opens():
    cfg = from_query({"surface": "nowhere", "x": "abc", "y": "1e9", "steps": "-5", "sgd.lr": "0.0123",
                      "adam.beta2": "nan", "lion.weight_decay": "7", "on": "sgd,bogus", "eta": "99", "junk": "1"})
    base = default_config()
    assert cfg.surface == base.surface
    assert cfg.start == (base.start[0], SURFACES.get(base.surface).box[3])  # y clamped to the view box
    assert cfg.steps == 10
    assert cfg.setup("sgd").config.lr == 0.015  # snapped to the nearest offered rate
    assert cfg.setup("adam").config.beta2 == base.setup("adam").config.beta2
    assert cfg.setup("lion").config.weight_decay == 1.0
    assert [s.name for s in cfg.enabled()] == ["sgd"]
    assert cfg.book_lr == RANGES["book_lr"][1]
    assert from_query({"on": "-"}).enabled() == ()


def test_a_link_is_readable():
    cfg = default_config("ravine")
    cfg = replace(cfg, optimizers=tuple(
        replace(s, config=replace(s.config, lr=1.5)) if s.name == "sgd" else
        replace(s, bias_correction=False) if s.name == "adam" else s for s in cfg.optimizers), book_lr=0.2)
    assert to_query(cfg) == {"surface": "ravine", "sgd.lr": "1.5", "adam.bias_correction": "0", "eta": "0.2"}


def test_switching_surface_keeps_which_optimizers_are_on():
    cfg = replace(default_config("ravine"), steps=120)
    cfg = replace(cfg, optimizers=tuple(replace(s, enabled=s.name == "rmsprop") for s in cfg.optimizers))
    moved = with_surface(cfg, "beale")
    assert moved.surface == "beale" and moved.start == SURFACES.get("beale").start and moved.steps == 120
    assert [s.name for s in moved.enabled()] == ["rmsprop"]
    assert moved.setup("rmsprop").config.lr == default_config("beale").setup("rmsprop").config.lr


# -- figures -----------------------------------------------------------------------------------------------


def _paths(surface: str, **lr: float) -> list[Trajectory]:
    cfg = default_config(surface)
    setups = [replace(s, enabled=True, config=replace(s.config, lr=lr.get(s.name, s.config.lr)))
              for s in cfg.optimizers]
    return run(SURFACES.get(surface), setups, cfg.start, 60)


def test_contour_levels_are_log_spaced():
    f = np.array([[1e-3, 1e-1], [10.0, 1e3]])
    z, lo, hi, size = log_levels(f)
    assert hi == 3 and lo <= -2.5 and size > 0
    np.testing.assert_allclose(10 ** z[1], [10.0, 1e3])


def test_contour_figure_draws_every_path_with_frames_and_a_legend():
    paths = _paths("himmelblau")
    fig = contour_figure(SURFACES.get("himmelblau"), paths, (-0.3, -0.9))
    names = [tr.name for tr in fig.data]
    for p in paths:
        assert t(f"optimizers.{p.name}") in names
    assert names.count(t("playground.minimum")) == 1 and len(fig.data[-2].x) == 4  # four minima
    # the map is a picture under the axes (a contour trace lost its fill while frames played), its key a colour bar
    assert fig.layout.images[0].source.startswith("data:image/png;base64,") and fig.layout.images[0].layer == "below"
    assert fig.data[0].marker.showscale and fig.data[0].marker.colorbar.tickvals is not None
    assert 2 <= len(fig.frames) <= 50 and fig.layout.sliders[0].active == len(fig.frames) - 1
    assert len(fig.data[1].x) == 41 * 41  # the invisible click targets
    # the last frame puts every optimizer's dot at the end of its whole path; earlier frames grow the paths
    np.testing.assert_allclose(fig.frames[-1].data[-1].x, [p.xy[-1, 0] for p in paths], rtol=1e-6)
    for k, p in enumerate(paths):
        np.testing.assert_allclose(fig.frames[-1].data[k].x, p.xy[: p.last + 1, 0], rtol=1e-6)
        middle = fig.frames[len(fig.frames) // 2].data[k]
        assert 1 < len(middle.x) <= 120 and middle.x[0] == pytest.approx(p.xy[0, 0])
    assert all(b.args[1]["frame"]["redraw"] for b in fig.layout.updatemenus[0].buttons[:1])


def test_a_diverged_path_is_drawn_clipped_and_named_so():
    paths = _paths("rosenbrock", sgd=10.0)
    sgd = paths[0]
    assert sgd.diverged_at is not None
    fig = contour_figure(SURFACES.get("rosenbrock"), paths, (-1.5, 2.5))
    label = t("playground.diverged_at", name=t("optimizers.sgd"), step=sgd.diverged_at)
    trace = next(tr for tr in fig.data if tr.name == label)
    assert np.isfinite(trace.x).all() and np.abs(trace.x).max() <= 6  # clipped near the view
    json.loads(plotly.io.to_json(fig))  # serialisable: no inf or nan left for the browser
    loss = loss_vs_step_figure(paths)
    assert loss.layout.yaxis.type == "log"
    assert any(tr.name == label for tr in loss.data)


def test_parabola_figure_handles_all_regimes():
    for lr in (0.05, 0.125, 0.2, 0.25, 0.35):
        fig = parabola_figure(book.descend(lr, 12))
        assert len(fig.data) == 4
        assert np.isfinite(np.asarray(fig.data[1].x, dtype=float)).all()


def test_benchmark_reports_seconds_and_a_ratio():
    from labcore.playground.bench import playground

    result = playground(repeats=1, steps=20)
    assert result["benchmark"] == "playground" and result["optimizers"] == 8
    assert result["seconds"] > 0 and result["ratio"] > 0 and result["naive_seconds"] > 0


def test_the_surface_captions_say_what_the_defaults_do():
    """Issue 18: the ravine's caption said SGD crawls while its default was the fastest; the captions now describe
    the defaults, and this checks each claim."""
    from dataclasses import replace

    from labcore.playground.config import default_setup
    from labcore.playground.trajectories import run

    def sgd(surface: str, lr: float | None = None):
        s, setup = SURFACES.get(surface), default_setup("sgd", surface)
        if lr is not None:
            setup = replace(setup, config=replace(setup.config, lr=lr))
        return run(s, [setup], s.start, 300)[0]

    def flips(path) -> int:  # direction changes across the valley in the first 60 steps
        dy = np.diff(path.xy[:60, 1])
        return int((np.sign(dy[1:]) != np.sign(dy[:-1])).sum())

    fast, slow = sgd("ravine"), sgd("ravine", 0.3)
    assert default_setup("sgd", "ravine").config.lr == 0.7
    assert flips(fast) > 40 and fast.loss[100] < 1e-4  # zig-zags from wall to wall, and still gets down fast
    assert flips(slow) == 0 and slow.loss[100] > 100 * fast.loss[100]  # no zig-zag, creeping along the floor
    lucky, stuck = sgd("rosenbrock"), sgd("rosenbrock", 0.001)
    assert lucky.loss[lucky.last] < 0.1 and stuck.loss[stuck.last] > 1  # thrown near the minimum / stuck on the wall
    assert t("playground.surface_ravine_about").startswith("20x steeper") and "0.001" in t("playground.surface_rosenbrock_about")
