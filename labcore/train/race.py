"""The optimizer race: 2-8 contenders (optimizer, learning rate, its options, schedule, batch size) train
the same network from identical initial weights on identical batches, as one batched computation.

`RaceConfig` is the setup; `Race` runs it (one `Heat` per batch size, interleaved so every heat has seen
the same share of the data at any moment); `RaceJob` runs a race in the background with the same
controls as a `TrainingJob`. Presets and the shareable-link format live in `labcore.train.race_setup`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch

from labcore.config import AugmentConfig, DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from labcore.data import DataBundle, DatasetInfo, load_dataset, stratified_subset
from labcore.engine import Progress
from labcore.i18n import LabError
from labcore.models import build_model, default_config, models_for
from labcore.train.augment import build_augment
from labcore.train.batched import Heat, Lane
from labcore.train.job import TrainingJob, _Control
from labcore.train.optimizers import build_optimizer, optimizer_config
from labcore.train.trainer import Callback, Trainer, pick_device

MIN_CONTENDERS, MAX_CONTENDERS = 2, 8
# The race batches its contenders layer by layer (labcore/train/batched.py); attention layers are not batched.
NOT_RACEABLE = frozenset({"vit"})


def race_models(info: DatasetInfo) -> list[str]:
    """The models of the registry that suit `info` and that the race can run side by side."""
    return [m for m in models_for(info) if m not in NOT_RACEABLE]


def optimizer_defaults(name: str, **changes: object) -> OptimConfig:
    """`name` with the registry's own starting values (its usual learning rate), then `changes`."""
    return optimizer_config(name, **changes)


@dataclass(frozen=True)
class Contender:
    optim: OptimConfig = field(default_factory=OptimConfig)
    batch_size: int = 0  # 0: the race's batch size
    # The Training tricks page races networks too: its own model (None: the race's), built from the same seed,
    # and training labels shuffled once (validation keeps the true ones: memorising shows as a gap).
    model: ModelConfig | None = None
    random_labels: bool = False
    augment: AugmentConfig | None = None  # on-the-fly augmentation of its training batches (None: off)
    # A seeded, stratified share of the training set (labcore.data.stratified_subset); validation stays whole.
    train_fraction: float = 1.0
    # The inputs as loaded, not standardised (DataConfig.standardize=False): same rows, same split.
    raw_inputs: bool = False
    seed: int | None = None  # its own initial weights from this seed (None: the race's); the batches stay the race's


@dataclass(frozen=True)
class RaceConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=lambda: default_config("cnn"))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=10))
    contenders: tuple[Contender, ...] = ()
    target_acc: float = 0.95  # the leaderboard's "steps and seconds to reach this validation accuracy"

    def batch_size(self, i: int) -> int:
        return self.contenders[i].batch_size or self.train.batch_size

    def model_of(self, i: int) -> ModelConfig:
        return self.contenders[i].model or self.model

    def data_of(self, i: int) -> DataConfig:
        return replace(self.data, standardize=False) if self.contenders[i].raw_inputs else self.data

    def seed_of(self, i: int) -> int:
        seed = self.contenders[i].seed
        return self.train.seed if seed is None else seed

    def solo(self, i: int) -> RunConfig:
        """Contender i as an ordinary training run: what it would do trained alone (same seed, same batches;
        a contender on random labels, or with its own initial seed, has no such run)."""
        return RunConfig(data=self.data_of(i), model=self.model_of(i), optim=self.contenders[i].optim,
                         train=replace(self.train, batch_size=self.batch_size(i)))

    def validate(self) -> None:
        if not MIN_CONTENDERS <= len(self.contenders) <= MAX_CONTENDERS:
            raise LabError("race.contender_count", low=MIN_CONTENDERS, high=MAX_CONTENDERS)
        for name in {self.model.name, *(c.model.name for c in self.contenders if c.model)}:
            if name in NOT_RACEABLE:
                raise LabError("race.model_not_raceable", model=name)


@dataclass(frozen=True)
class Standing:
    """A read-only copy of one contender's race so far, for pages and leaderboards."""

    index: int
    status: str  # running, diverged, finished, stopped
    diverged_step: int | None
    state_bytes: int
    steps: list[dict]
    epochs: list[dict]


class Race:
    """All heats of one race in lock-step by data seen; `callbacks` get `on_batch_end(race, logs)` like a Trainer's."""

    def __init__(self, cfg: RaceConfig, data: DataBundle, *, callbacks: Sequence[Callback] = ()):
        cfg.validate()
        self.cfg, self.data, self.callbacks = cfg, data, list(callbacks)
        device = pick_device(cfg.train.device)
        # exactly the initial weights a Trainer with this seed starts from (one template per network, seed and
        # input scaling raced); a contender on raw inputs gets the same rows unstandardised
        raw = any(c.raw_inputs for c in cfg.contenders) and cfg.data.standardize
        bundles = {False: data, True: load_dataset(replace(cfg.data, standardize=False)) if raw else data}
        models = list(dict.fromkeys(cfg.model_of(i) for i in range(len(cfg.contenders))))
        starts = sorted({(models.index(cfg.model_of(i)), cfg.seed_of(i), c.raw_inputs)
                         for i, c in enumerate(cfg.contenders)})
        templates = {k: build_model(models[k[0]], bundles[k[2]], seed=k[1]).to(device) for k in starts}
        self.template = next((templates[k] for k in starts if models[k[0]] == cfg.model), templates[starts[0]])
        tensors = {r: tuple(t.to(device) for t in (b.x_train, b.y_train, b.x_val, b.y_val)) for r, b in bundles.items()}
        # A heat: the contenders that share a batch size, a start (network, seed, scaling), labels and augmentation
        # (the same batches in every heat).
        augments = list(dict.fromkeys(c.augment for c in cfg.contenders))

        def kind(i: int) -> tuple[int, tuple[int, int, bool], bool, int, float]:
            c = cfg.contenders[i]
            return (cfg.batch_size(i), (models.index(cfg.model_of(i)), cfg.seed_of(i), c.raw_inputs), c.random_labels,
                    augments.index(c.augment), c.train_fraction)

        self.heats = []
        for size, start, shuffled, a, share in sorted({kind(i) for i in range(len(cfg.contenders))}):
            augment = augments[a] and build_augment(augments[a], data.input_shape, seed=cfg.train.seed + 2)
            heat_tensors = tensors[start[2]]
            heat_tensors = _shuffled(heat_tensors, cfg.train.seed) if shuffled else heat_tensors
            if share < 1:
                heat_tensors = _subset(heat_tensors, share, cfg.data.seed)
            self.heats.append(Heat(templates[start], [(i, c.optim) for i, c in enumerate(cfg.contenders)
                                                      if kind(i) == (size, start, shuffled, a, share)],
                                   size, heat_tensors, cfg.train, data.num_classes, augment=augment or None))
        self.lanes: list[Lane] = sorted((lane for h in self.heats for lane in h.lanes), key=lambda lane: lane.index)
        self.should_stop = False

    def fit(self) -> None:
        while not self.should_stop:
            live = [h for h in self.heats if not h.finished]
            if not live:
                break
            heat = min(live, key=lambda h: h.progress)  # whoever is behind in data seen goes next
            heat.advance()
            logs = {"step": heat.step, "epoch": heat.progress}
            for cb in self.callbacks:
                cb.on_batch_end(self, logs)
        for lane in self.lanes:
            if lane.running:
                lane.status = "stopped" if self.should_stop else "finished"

    def standings(self) -> list[Standing]:
        out = []
        for lane in self.lanes:
            steps, epochs = lane.log.snapshot()
            out.append(Standing(lane.index, lane.status, lane.diverged_step, lane.state_bytes, steps, epochs))
        return out

    def contender_model(self, i: int) -> torch.nn.Module:
        """Contender i's network as an ordinary model, e.g. to compare with one trained alone."""
        for heat in self.heats:
            for j, lane in enumerate(heat.lanes):
                if lane.index == i:
                    return heat.contender_model(j)
        raise IndexError(i)

    @property
    def param_bytes(self) -> int:
        """Bytes of one contender's weights: the yardstick for its optimizer's state."""
        return sum(p.numel() * p.element_size() for p in self.template.parameters())

    @property
    def fraction(self) -> float:
        done = sum(h.epochs if h.finished else h.progress for h in self.heats)
        return done / (len(self.heats) * self.cfg.train.epochs)


def _shuffled(tensors: tuple[torch.Tensor, ...], seed: int) -> tuple[torch.Tensor, ...]:
    """The training labels permuted once (the class counts stay, every link to the input is gone)."""
    x, y, x_val, y_val = tensors
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed + 1)).to(y.device)
    return x, y[order], x_val, y_val


def _subset(tensors: tuple[torch.Tensor, ...], fraction: float, seed: int) -> tuple[torch.Tensor, ...]:
    """A stratified `fraction` of the training examples (the same ones for every contender given that share)."""
    x, y, x_val, y_val = tensors
    keep = torch.as_tensor(stratified_subset(y.cpu().numpy(), fraction, seed)).to(y.device)
    return x[keep], y[keep], x_val, y_val


class RaceJob(TrainingJob):
    """A race in a background thread: pause, resume and stop act between batches, as for a TrainingJob.
    Each contender keeps its configured learning rate (can_set_lr is off)."""

    kind = "race"
    can_set_lr = False

    def __init__(self, cfg: RaceConfig, owner: str | None = None, threads: int = 0):
        super().__init__(cfg, owner, threads)  # reads only cfg.train, which a RaceConfig has too
        self.race: Race | None = None

    def standings(self) -> list[Standing]:
        return self.race.standings() if self.race else []

    def snapshot(self) -> tuple[list[dict], list[dict]]:
        """The first contender's rows (the TrainingJob surface); `standings()` has them all."""
        s = self.standings()
        return (s[0].steps, s[0].epochs) if s else ([], [])

    def progress(self) -> Progress:
        """Share of the race done, epochs (of the heat furthest behind), time so far and time left."""
        race = self.race
        return self._timed(Progress(fraction=race.fraction if race else 0.0,
                                    epoch=min(h.epoch for h in race.heats) if race else 0,
                                    epochs=self.config.train.epochs))

    def _work(self) -> None:
        cfg = self.config
        self.race = Race(cfg, load_dataset(cfg.data), callbacks=[_Control(self)])
        self.race.fit()
        if self._stop.is_set():
            self._end("stopped")
        elif all(lane.status == "diverged" for lane in self.race.lanes):
            self._end("diverged", LabError("race.all_diverged"))
        else:
            self._end("finished")


def race_bench(repeats: int = 3, epochs: int = 3) -> dict:
    """Six optimizers on digits (CNN, then MLP): one race against the same six runs one after another.

    `ratio` is sequential Trainer seconds / race seconds (the lab's two ways of getting the six curves);
    `ratio_vs_bare` compares with six hand-written loops instead (no logging). Best of `repeats` each.
    """
    import copy

    from labcore.bench import bare_fit  # imported here: labcore.bench imports this module to register us

    names = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
    result: dict = {"benchmark": "race", "contenders": len(names), "data": "digits", "epochs": epochs,
                    "batch_size": TrainConfig().batch_size, "repeats": repeats, "threads": torch.get_num_threads()}
    for model in ("cnn", "mlp"):
        cfg = RaceConfig(model=default_config(model), train=TrainConfig(epochs=epochs),
                         contenders=tuple(Contender(optimizer_defaults(n)) for n in names))
        data = load_dataset(cfg.data)
        initial = build_model(cfg.model, data, seed=cfg.train.seed)
        times: dict[str, list[float]] = {"race": [], "sequential": [], "sequential_bare": []}
        for _ in range(repeats):  # alternate, so a busy moment on the machine hurts all three alike
            t0 = time.perf_counter()
            Race(cfg, data).fit()
            times["race"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for i in range(len(names)):
                Trainer(cfg.solo(i), data).fit()
            times["sequential"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for i in range(len(names)):
                net = copy.deepcopy(initial)
                bare_fit(net, build_optimizer(net.parameters(), cfg.contenders[i].optim), data, epochs,
                         cfg.train.batch_size, cfg.train.seed)
            times["sequential_bare"].append(time.perf_counter() - t0)
        best = {k: min(v) for k, v in times.items()}
        numbers = {"ratio": best["sequential"] / best["race"],
                   "ratio_vs_bare": best["sequential_bare"] / best["race"], "seconds": best}
        if model == "cnn":
            result |= {"model": model, **numbers}
        else:
            result[model] = numbers
    return result
