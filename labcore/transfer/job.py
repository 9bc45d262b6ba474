"""Transfer learning as a race: feature extraction, fine-tuning and training from scratch learn the same target
data from the same batches, in one background thread, each with its own `MetricLog`.

`TransferConfig` is the setup; `TransferRace` runs it (usable from a script or a test); `TransferJob` runs a
race under the job registry with pause/resume/stop, and afterwards exposes the best strategy's model the way a
`TrainingJob` does (`.trainer.model`, `.trainer.data`, `.outcome`), so Explain and Try it can use it.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from labcore.config import DataConfig, ModelConfig, TrainConfig
from labcore.data import DataBundle
from labcore.engine import Progress
from labcore.i18n import LabError
from labcore.metrics import classification_report
from labcore.seeding import RNG_LOCK
from labcore.train.job import Outcome, TrainingJob
from labcore.train.log import MetricLog
from labcore.train.rules import has_diverged
from labcore.train.trainer import pick_device
from labcore.transfer.backbones import TransferNet, build_transfer_net
from labcore.transfer.strategies import (
    STRATEGIES,
    count_parameters,
    gradual_blocks,
    param_groups,
    train_mode,
    unfreeze_all,
    unfreeze_last,
)
from labcore.transfer.targets import load_target
from labcore.transfer.weights import pretrained_net


@dataclass(frozen=True)
class TransferConfig:
    target: str = "digits_5_9"
    labels_per_class: int = 5  # training images kept per class; 0: all
    backbone: str = "lab_digits"
    strategies: tuple[str, ...] = STRATEGIES
    image_size: int = 0  # pixels the wrapper resizes to; 0: the backbone's default
    unfreeze: int = 2  # fine-tuning: how many of the last backbone blocks learn
    gradual: bool = False  # fine-tuning: head only first, then one more block per epoch
    lr: float = 1e-2  # the head's learning rate (fine-tuned blocks: times backbone_lr_factor)
    # From scratch gets its own: the head's 1e-2 for a whole network left a ResNet-18 from scratch at loss ln 2
    # for 30 epochs (two classes), so "pre-training beats scratch by N points" compared with a broken baseline.
    scratch_lr: float = 1e-3
    backbone_lr_factor: float = 0.1  # fine-tuned blocks learn at lr * this
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=30, batch_size=16))

    # Pages that list training runs read `config.model.name` and `config.data.name`.
    @property
    def model(self) -> ModelConfig:
        return ModelConfig(name=self.backbone)

    @property
    def data(self) -> DataConfig:
        return DataConfig(name=self.target)

    def validate(self) -> None:
        if not self.strategies or any(s not in STRATEGIES for s in self.strategies):
            raise LabError("transfer.no_strategy")


@dataclass(frozen=True)
class StrategyResult:
    strategy: str
    status: str  # finished, stopped, diverged
    test_accuracy: float
    val_accuracy: float
    best_epoch: int
    seconds: float  # training time of this strategy alone (its share of the race)
    trainable: int
    total: int
    val_loss: float = float("nan")  # at the best epoch: breaks a tie in validation accuracy
    n_test: int = 0  # test images behind test_accuracy (its uncertainty: labcore.metrics.accuracy_interval)


def as_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255) if x.dtype == torch.uint8 else x.float()


@torch.no_grad()
def batched(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, device: torch.device,
            batch: int = 256) -> torch.Tensor:
    """`fn` over `x` in chunks (images kept as bytes are scaled chunk by chunk)."""
    out = [fn(as_float(x[i : i + batch]).to(device)) for i in range(0, len(x), batch)]
    return torch.cat(out) if out else torch.empty(0)


class Lane:
    """One strategy's network, optimizer, log and clock."""

    def __init__(self, strategy: str, net: TransferNet, cfg: TransferConfig):
        self.strategy, self.net, self.cfg = strategy, net, cfg
        if strategy == "features":
            unfreeze_last(net, 0)
        elif strategy == "finetune":
            unfreeze_last(net, 0 if cfg.gradual else cfg.unfreeze)
        else:
            unfreeze_all(net)
        if strategy == "scratch":
            groups = param_groups(net, cfg.scratch_lr, 1.0)
        else:
            groups = param_groups(net, cfg.lr, cfg.backbone_lr_factor)
        if strategy == "features":
            groups = groups[:1]  # the frozen backbone is not the optimizer's business
        self.optimizer = torch.optim.Adam(groups)
        self.log = MetricLog()
        self.cached: tuple[torch.Tensor, ...] | None = None  # feature extraction: backbone outputs per split
        self.status, self.seconds, self.step = "running", 0.0, 0
        self.first_loss: float | None = None
        self.best_state: dict | None = None
        self.best_key, self.best_epoch = (-1.0, math.inf), 0

    @property
    def running(self) -> bool:
        return self.status == "running"

    def start_epoch(self, epoch: int) -> None:
        if self.strategy == "finetune" and self.cfg.gradual:
            unfreeze_last(self.net, gradual_blocks(epoch, self.cfg.unfreeze))
        train_mode(self.net)
        if self.strategy == "features":
            self.net.eval()  # the head has no batch norm or dropout; the backbone stays as pretrained

    def logits(self, x: torch.Tensor | None, idx: torch.Tensor, split: int) -> torch.Tensor:
        if self.cached is not None:
            return self.net.head(self.cached[split][idx])
        return self.net(x)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.logits(x, idx, 0), y)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return loss.item()

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, split: int, device: torch.device) -> tuple[float, float]:
        self.net.eval()
        if self.cached is not None:
            logits = self.net.head(self.cached[split])
        else:
            logits = batched(self.net, x, device)
        y = y.to(logits.device)
        return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()

    def remember_best(self, epoch: int, val_loss: float, val_acc: float) -> None:
        key = (val_acc, -val_loss)  # most correct first; the surer one on a tie
        if key > self.best_key:
            self.best_key, self.best_epoch = key, epoch
            self.best_state = copy.deepcopy(self.net.state_dict())

    def restore_best(self) -> None:
        if self.best_state is not None:
            self.net.load_state_dict(self.best_state)


class TransferRace:
    """The strategies of `cfg` on `data`, batch for batch. `control()` is asked between batches: True stops."""

    def __init__(self, cfg: TransferConfig, data: DataBundle, *, user_state: dict | None = None,
                 control: Callable[[], bool] | None = None):
        cfg.validate()
        self.cfg, self.data, self.control = cfg, data, control or (lambda: False)
        self.device = pick_device(cfg.train.device)
        shape = dict(in_channels=data.input_shape[0], num_classes=data.num_classes, size=cfg.image_size)
        seed = cfg.train.seed
        with RNG_LOCK:  # the same new head for every strategy; scratch's backbone from the same seed
            self.pretrained = pretrained_net(cfg.backbone, seed=seed, user_state=user_state, **shape).eval()
            scratch = build_transfer_net(cfg.backbone, seed=seed, **shape) if "scratch" in cfg.strategies else None
        unfreeze_all(self.pretrained)
        self.lanes: dict[str, Lane] = {}
        for s in cfg.strategies:
            net = scratch if s == "scratch" else copy.deepcopy(self.pretrained)
            self.lanes[s] = Lane(s, net.to(self.device), cfg)
        self.should_stop = False
        self.epoch, self.fraction = 0, 0.0

    def _cache_features(self, lane: Lane) -> None:
        t0 = time.perf_counter()
        d = self.data
        lane.net.eval()
        lane.cached = tuple(batched(lane.net.features, x, self.device) for x in (d.x_train, d.x_val, d.x_test))
        lane.seconds += time.perf_counter() - t0

    def fit(self) -> None:
        cfg, d, device = self.cfg, self.data, self.device
        if "features" in self.lanes:
            self._cache_features(self.lanes["features"])
        y_train = d.y_train.to(device)
        n, epochs = len(y_train), cfg.train.epochs
        batch = max(1, min(cfg.train.batch_size, n))
        gen = torch.Generator().manual_seed(cfg.train.seed)
        start = time.perf_counter()
        for self.epoch in range(1, epochs + 1):
            live = [lane for lane in self.lanes.values() if lane.running]
            if not live:
                break
            for lane in live:
                lane.start_epoch(self.epoch)
            order = torch.randperm(n, generator=gen)
            sums = {lane.strategy: [0.0, 0] for lane in live}
            for i in range(0, n, batch):
                idx = order[i : i + batch]
                if len(idx) < 2 and i:  # batch norm cannot train on a single image
                    continue
                x = as_float(d.x_train[idx]).to(device)
                y = y_train[idx.to(device)]
                for lane in live:  # the same images, in the same order, for every strategy
                    if not lane.running:
                        continue
                    t0 = time.perf_counter()
                    loss = lane.train_step(x, y, idx.to(device))
                    lane.seconds += time.perf_counter() - t0
                    if has_diverged(loss, lane.first_loss):
                        lane.status = "diverged"
                        continue
                    lane.first_loss = loss if lane.first_loss is None else lane.first_loss
                    sums[lane.strategy][0] += loss * len(idx)
                    sums[lane.strategy][1] += len(idx)
                    lane.log.add_steps([{"step": lane.step, "epoch": self.epoch - 1 + (i + len(idx)) / n,
                                         "loss": loss, "time": time.perf_counter() - start}])
                self.fraction = (self.epoch - 1 + (i + len(idx)) / n) / epochs
                if self.control():
                    self.should_stop = True
                    break
            for lane in live:
                if not lane.running:
                    continue
                t0 = time.perf_counter()
                val_loss, val_acc = lane.evaluate(d.x_val, d.y_val, 1, device)
                lane.seconds += time.perf_counter() - t0
                total, seen = sums[lane.strategy]
                lane.log.add_epoch({"epoch": self.epoch, "step": lane.step, "loss": total / max(seen, 1),
                                    "val_loss": val_loss, "val_acc": val_acc, "seconds": lane.seconds})
                lane.remember_best(self.epoch, val_loss, val_acc)
            if self.should_stop:
                break
        for lane in self.lanes.values():
            lane.restore_best()
            lane.net.eval()
            if lane.running:
                lane.status = "stopped" if self.should_stop else "finished"

    def results(self) -> list[StrategyResult]:
        out = []
        for lane in self.lanes.values():
            if lane.best_state is None:  # stopped or diverged before its first epoch ended
                test_acc = val_acc = val_loss = float("nan")
            else:
                _, test_acc = lane.evaluate(self.data.x_test, self.data.y_test, 2, self.device)
                val_acc, val_loss = lane.best_key[0], -lane.best_key[1]
            trainable, total = count_parameters(lane.net)
            out.append(StrategyResult(lane.strategy, lane.status, test_acc, val_acc, lane.best_epoch, lane.seconds,
                                      trainable, total, val_loss, len(self.data.y_test)))
        return out


def best_result(results: list[StrategyResult]) -> StrategyResult | None:
    """The winner by validation accuracy (the test set only reports, it never chooses); a tie goes to the
    lower validation loss (the surer one), never to the order of the list."""
    scored = [r for r in results if not math.isnan(r.val_accuracy)]
    return max(scored, key=_validation_key) if scored else None


def _validation_key(r: StrategyResult) -> tuple[float, float]:
    return r.val_accuracy, -r.val_loss if not math.isnan(r.val_loss) else -math.inf


def verdict(results: list[StrategyResult], num_classes: int) -> tuple[str, float]:
    """What the race showed, as (kind, points): "nothing" when no strategy's test accuracy is surely above
    chance (the lower end of its 95 % interval at or under 1/classes: comparing strategies would read noise);
    else the best transfer strategy's gain over from scratch, "big" (>= 5 points), "hurt" (<= -5) or "none";
    "" without both sides to compare."""
    from labcore.metrics import accuracy_interval

    measured = [r for r in results if not math.isnan(r.test_accuracy)]
    if not measured:
        return "", math.nan
    chance = 1 / max(num_classes, 1)
    if all(accuracy_interval(r.test_accuracy, r.n_test)[0] <= chance for r in measured):
        return "nothing", 100 * chance
    acc = {r.strategy: r.test_accuracy for r in measured}
    if "scratch" not in acc or len(acc) < 2:
        return "", math.nan
    gain = 100 * (max(v for s, v in acc.items() if s != "scratch") - acc["scratch"])
    return ("big" if gain >= 5 else "hurt" if gain <= -5 else "none"), gain


def tied_with(best: StrategyResult, results: list[StrategyResult]) -> list[StrategyResult]:
    """The other strategies with the winner's validation accuracy: the tie the validation loss broke."""
    return [r for r in results if r.strategy != best.strategy and r.val_accuracy == best.val_accuracy]


@dataclass
class TrainedModel:
    """What pages read from a finished job's `.trainer`: the network and its data (a `Trainer` look-alike)."""

    model: TransferNet
    data: DataBundle
    strategy: str = ""
    regression: bool = False

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> np.ndarray:
        self.model.eval()
        device = next(self.model.parameters()).device
        return torch.softmax(batched(self.model, x, device), 1).cpu().numpy()


class TransferJob(TrainingJob):
    """A transfer race in the background. `data` (your own images) and `user_state` (an uploaded weights file)
    come as keyword arguments: `registry.submit(cfg, owner, job_class=partial(TransferJob, data=...))`."""

    kind = "transfer"
    can_set_lr = False  # each strategy keeps its configured learning rates

    def __init__(self, cfg: TransferConfig, owner: str | None = None, threads: int = 0, *,
                 data: DataBundle | None = None, user_state: dict | None = None):
        super().__init__(cfg, owner, threads)  # reads only cfg.train, which a TransferConfig has too
        self._data, self._user_state = data, user_state
        self.race: TransferRace | None = None
        self.results: list[StrategyResult] = []
        self.best: StrategyResult | None = None

    def lanes(self) -> dict[str, tuple[list[dict], list[dict]]]:
        """{strategy: (step rows, epoch rows)} so far."""
        race = self.race
        return {s: lane.log.snapshot() for s, lane in race.lanes.items()} if race else {}

    def lane_status(self) -> dict[str, str]:
        return {s: lane.status for s, lane in self.race.lanes.items()} if self.race else {}

    def snapshot(self) -> tuple[list[dict], list[dict]]:
        lanes = self.lanes()
        key = self.best.strategy if self.best else next(iter(lanes), None)
        return lanes[key] if key else ([], [])

    def progress(self) -> Progress:
        race = self.race
        return self._timed(Progress(fraction=race.fraction if race else 0.0, epoch=race.epoch if race else 0,
                                    epochs=self.config.train.epochs))

    def _control(self) -> bool:
        """Between batches: True once asked to stop (a slow-motion delay wakes at once on Stop)."""
        return not self.checkpoint() or self.sleep(self.config.train.step_delay)

    def _outcome(self, best_epoch: int) -> Outcome:
        data = self.trainer.data
        y_prob, y_true = self.trainer.predict_proba(data.x_test), data.y_test.numpy()
        loss = float(-np.log(np.clip(y_prob[np.arange(len(y_true)), y_true], 1e-12, None)).mean())
        report = classification_report(y_true, y_prob, data.class_names)
        return Outcome(loss, report.accuracy, y_true, y_prob, report, best_epoch, False)

    def _work(self) -> None:
        cfg: TransferConfig = self.config
        data = self._data or load_target(cfg.target, cfg.labels_per_class, cfg.train.seed)
        self.race = TransferRace(cfg, data, user_state=self._user_state, control=self._control)
        self.race.fit()
        self.results = self.race.results()
        self.best = best_result(self.results)
        if self.best is None:
            self._end("stopped" if self._stop.is_set() else "diverged", None if self._stop.is_set()
                      else LabError("transfer.all_diverged"))
            return
        lane = self.race.lanes[self.best.strategy]
        self.trainer = TrainedModel(lane.net, data, self.best.strategy)
        self.outcome = self._outcome(self.best.best_epoch)
        self._end("stopped" if self._stop.is_set() else "finished")
