"""What the playground page is set to, as plain frozen dataclasses (so it fits in a URL and a cache key).

`PlaygroundConfig` = a surface, a start point, a number of steps, one `OptimizerSetup` per optimizer of
the lab's registry (on or off, with its settings as an `OptimConfig`) and the learning rate of the book's
one-weight example. The slider ranges live here too, so a link restored from a URL is clamped to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from labcore.config import OptimConfig
from labcore.playground.surfaces import SURFACES
from labcore.train.optimizers import OPTIMIZERS

# Learning rates offered: 1, 1.5, 2, 3, 5, 7 per decade (log-spaced, so 0.001 and 1 are equally easy to pick).
LR_CHOICES: tuple[float, ...] = tuple(
    round(m * 10.0**e, 10) for e in range(-5, 1) for m in (1, 1.5, 2, 3, 5, 7)
) + (10.0,)
EPS_CHOICES: tuple[float, ...] = (1e-10, 1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 0.1, 1.0)
WEIGHT_DECAY_CHOICES: tuple[float, ...] = (0.0, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0)
# Continuous settings: (min, max, slider step).
RANGES: dict[str, tuple[float, float, float]] = {
    "momentum": (0.0, 0.99, 0.01),
    "beta1": (0.0, 0.999, 0.001),
    "beta2": (0.9, 0.9999, 0.0001),
    "alpha": (0.5, 0.999, 0.001),
    "book_lr": (0.01, 0.35, 0.005),
}
STEPS_RANGE: tuple[int, int, int] = (10, 1000, 10)
START_DIVISIONS = 200  # a start slider moves in 1/200 of the view box
DEFAULT_ON: tuple[str, ...] = ("sgd", "momentum", "adam", "lion")
DEFAULT_SURFACE = "rosenbrock"
BOOK_LR = 0.1  # the book's own step size in its worked example


@dataclass(frozen=True)
class OptimizerSetup:
    """One optimizer in the playground: its registry settings plus what only the playground has."""

    config: OptimConfig
    enabled: bool = True
    bias_correction: bool = True  # Adam only: off runs labcore's SwitchableAdam without it

    @property
    def name(self) -> str:
        return self.config.name

    def options(self) -> tuple[str, ...]:
        """The OptimConfig fields this optimizer reads (the page shows a slider for each)."""
        return OPTIMIZERS.get(self.name).options


@dataclass(frozen=True)
class PlaygroundConfig:
    surface: str = DEFAULT_SURFACE
    start: tuple[float, float] = SURFACES.get(DEFAULT_SURFACE).start
    steps: int = 300
    optimizers: tuple[OptimizerSetup, ...] = field(default_factory=lambda: default_setups(DEFAULT_SURFACE))
    book_lr: float = BOOK_LR

    def enabled(self) -> tuple[OptimizerSetup, ...]:
        return tuple(s for s in self.optimizers if s.enabled)

    def setup(self, name: str) -> OptimizerSetup:
        return next(s for s in self.optimizers if s.name == name)


def default_setup(name: str, surface: str) -> OptimizerSetup:
    """The registry's defaults for `name`, with a learning rate that suits `surface`."""
    spec = OPTIMIZERS.get(name)
    lr = SURFACES.get(surface).lr.get(name, spec.defaults.get("lr", OptimConfig.lr))
    return OptimizerSetup(OptimConfig(name=name, **{**spec.defaults, "lr": nearest(LR_CHOICES, lr)}),
                          enabled=name in DEFAULT_ON)


def default_setups(surface: str) -> tuple[OptimizerSetup, ...]:
    return tuple(default_setup(name, surface) for name in OPTIMIZERS.names())


def default_config(surface: str = DEFAULT_SURFACE) -> PlaygroundConfig:
    return PlaygroundConfig(surface=surface, start=SURFACES.get(surface).start,
                            optimizers=default_setups(surface))


def with_surface(cfg: PlaygroundConfig, surface: str) -> PlaygroundConfig:
    """Switch surface: its start point and learning rates, keeping which optimizers are on."""
    on = {s.name for s in cfg.enabled()}
    fresh = default_config(surface)
    return replace(fresh, steps=cfg.steps, book_lr=cfg.book_lr,
                   optimizers=tuple(replace(s, enabled=s.name in on) for s in fresh.optimizers))


def nearest(choices: tuple[float, ...], value: float) -> float:
    """The choice closest to `value` on a log scale (0 only matches 0)."""
    if value <= 0:
        return min(choices)
    return min(choices, key=lambda c: abs(value - c) / max(c, value) if c > 0 else float("inf"))


def start_step(surface: str) -> tuple[float, float]:
    """Slider step of the start point's x and y for `surface`."""
    x0, x1, y0, y1 = SURFACES.get(surface).box
    return (x1 - x0) / START_DIVISIONS, (y1 - y0) / START_DIVISIONS
