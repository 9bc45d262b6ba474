"""Benchmark of the playground's redraw: 8 optimizers x 300 steps, then both figures built and serialised.

The target is a redraw in under 0.2 s on a 2-core laptop. As every lab benchmark, it also prints a
ratio against a baseline measured in the same run: the same 8 x 300 paths computed by the loop a person
writes by hand (one optimizer at a time: zero_grad, loss, backward, step), so the number means the same
on a fast and a slow machine.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import plotly.io
import plotly.tools
import torch

from labcore.playground.config import OptimizerSetup, default_config
from labcore.playground.surfaces import SURFACES, Surface
from labcore.playground.trajectories import build_optimizer, run
from labcore.viz.landscape import contour_figure, loss_vs_step_figure

TARGET_SECONDS = 0.2


def naive_paths(surface: Surface, setups: list[OptimizerSetup], start: tuple[float, float],
                steps: int) -> list[np.ndarray]:
    """The hand-written loop: one optimizer at a time, a fresh autograd graph and `.step()` per step."""
    paths = []
    for setup in setups:
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        optimizer = build_optimizer(setup, [p])
        points = [p.detach().clone()]
        for _ in range(steps):
            optimizer.zero_grad()
            surface.torch(p).backward()
            optimizer.step()
            points.append(p.detach().clone())
        paths.append(torch.stack(points).numpy())
    return paths


def _serialise(figure) -> str:
    # What st.plotly_chart does with a figure before sending it to the browser.
    return plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(figure, True), validate=False)


def playground(repeats: int = 5, surface: str = "rosenbrock", steps: int = 300) -> dict:
    """Best-of-`repeats` seconds of a full redraw, of its path computation alone, and of the naive loop."""
    cfg = default_config(surface)
    surf = SURFACES.get(surface)
    setups = [replace(s, enabled=True) for s in cfg.optimizers]
    times: dict[str, list[float]] = {"redraw": [], "paths": [], "naive": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        paths = run(surf, setups, cfg.start, steps)
        times["paths"].append(time.perf_counter() - t0)
        _serialise(contour_figure(surf, paths, cfg.start))
        _serialise(loss_vs_step_figure(paths))
        times["redraw"].append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        naive_paths(surf, setups, cfg.start, steps)
        times["naive"].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    return {"benchmark": "playground", "ratio": best["redraw"] / best["naive"], "seconds": best["redraw"],
            "paths_seconds": best["paths"], "naive_seconds": best["naive"],
            "paths_ratio": best["paths"] / best["naive"], "target_seconds": TARGET_SECONDS,
            "within_target": best["redraw"] <= TARGET_SECONDS, "optimizers": len(setups), "steps": steps,
            "surface": surface, "repeats": repeats, "threads": torch.get_num_threads()}
