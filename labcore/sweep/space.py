"""What a sweep tries: the setup (dataset, model, search method, value lists) and the trials it expands to.

A grid tries every combination of the chosen values; a random search draws `samples` trials with a seed (the
same seed draws the same trials): the learning rate log-uniformly between the smallest and the largest rate
chosen, snapped to the Train page's ladder (1-2-5 per decade, so every trial opens on the Train page as it ran),
the other settings uniformly from their lists. Nothing here trains or knows about Streamlit.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from labcore.config import DataConfig, RunConfig, TrainConfig
from labcore.data import dataset_info
from labcore.models import default_config
from labcore.train.optimizers import optimizer_config

METHODS = ("grid", "random")
BACKENDS = ("local", "ray")
ETAS = (2, 3)
PARALLEL = (1, 2)
SWEEP_DATASETS = ("digits", "wine", "breast_cancer", "moons", "spirals")
SWEEP_MODELS = ("mlp", "cnn")
POINTS = {"n_samples": 600, "noise": 0.1}  # the Train page's starting values for a 2-D toy
MAX_TRIALS = 48


@dataclass(frozen=True)
class SweepConfig:
    data: str = "digits"
    model: str = "cnn"
    method: str = "grid"
    lrs: tuple[float, ...] = (0.001, 0.01, 0.1)
    batch_sizes: tuple[int, ...] = (32, 128)
    optimizers: tuple[str, ...] = ("adam", "sgd")
    widths: tuple[int, ...] = (32,)
    samples: int = 8  # random search: how many trials
    epochs: int = 4  # the most epochs a trial trains (the last rung)
    eta: int = 2  # successive halving keeps the best 1/eta at each rung
    parallel: int = 1  # trials training at once (local backend); Ray: concurrent trials
    seed: int = 0  # the random search's draw, and every trial's training seed
    backend: str = "local"


@dataclass(frozen=True)
class Trial:
    index: int
    lr: float
    batch_size: int
    optimizer: str
    width: int

    def label(self) -> str:
        return f"#{self.index + 1} {self.optimizer} lr {self.lr:g} · b {self.batch_size} · w {self.width}"


def ray_ready() -> bool:
    """The Ray backend is offered when LAB_RAY_ADDRESS is set and ray is installed (never imported here)."""
    import importlib.util

    from labcore import cluster

    return cluster.enabled() and importlib.util.find_spec("ray") is not None


def _ladder(lo: float, hi: float) -> list[float]:
    from labcore.links import LEARNING_RATES

    return [r for r in LEARNING_RATES if lo - 1e-12 <= r <= hi + 1e-12]


def trials(cfg: SweepConfig) -> list[Trial]:
    """The sweep's trials, in a fixed order (index 0..n-1)."""
    if not (cfg.lrs and cfg.batch_sizes and cfg.optimizers and cfg.widths):
        return []
    if cfg.method == "grid":
        combos = itertools.product(sorted(cfg.lrs), sorted(cfg.batch_sizes), cfg.optimizers, sorted(cfg.widths))
        return [Trial(i, float(lr), int(b), o, int(w)) for i, (lr, b, o, w) in enumerate(combos)]
    rng = np.random.default_rng(cfg.seed)
    ladder = _ladder(min(cfg.lrs), max(cfg.lrs))
    logs = np.log10(ladder)
    out = []
    for i in range(cfg.samples):
        u = rng.uniform(math.log10(min(cfg.lrs)), math.log10(max(cfg.lrs)))
        lr = ladder[int(np.argmin(np.abs(logs - u)))]
        b = int(rng.choice(sorted(cfg.batch_sizes)))
        o = str(cfg.optimizers[int(rng.integers(len(cfg.optimizers)))])
        w = int(rng.choice(sorted(cfg.widths)))
        out.append(Trial(i, float(lr), b, o, w))
    return out


def size(cfg: SweepConfig) -> int:
    if cfg.method == "grid":
        return len(cfg.lrs) * len(cfg.batch_sizes) * len(cfg.optimizers) * len(cfg.widths)
    return cfg.samples


def run_config(cfg: SweepConfig, trial: Trial) -> RunConfig:
    """The trial as a Train-page setup: the model and optimizer from their own defaults, as the Train page
    builds them, so `labcore.share.to_query` of it opens the Train page on exactly this trial."""
    toy = POINTS if dataset_info(cfg.data).kind == "points" else {}
    model = default_config(cfg.model)
    if "width" in _options(cfg.model):
        model = replace(model, width=trial.width)
    return RunConfig(data=DataConfig(name=cfg.data, **toy), model=model,
                     optim=optimizer_config(trial.optimizer, lr=trial.lr),
                     train=TrainConfig(epochs=cfg.epochs, batch_size=trial.batch_size, seed=cfg.seed))


def train_query(cfg: SweepConfig, trial: Trial) -> dict[str, str]:
    """The Train page's link params for the trial: written with the Train page's own schema (labcore.links), which
    leaves out what equals the page's defaults, the optimizer's own included (`share.to_query` compares with
    RunConfig()'s, so SGD at 0.001 would lose its rate and open at SGD's default 0.05)."""
    from labcore import links

    return links.write("train", links.train_values(run_config(cfg, trial)))


def _options(model: str) -> tuple[str, ...]:
    from labcore.models import MODELS

    return tuple(MODELS.get(model).options)
