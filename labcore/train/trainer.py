"""The training loop: epochs of batches (forward, loss, backward, step) and five callback hooks.

Small datasets live as tensors on the device and batches are index slices of them: no DataLoader,
no per-sample Python work, unless augmentations are switched on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labcore.config import RunConfig
from labcore.data import DataBundle
from labcore.models import build_model
from labcore.seeding import use_generator
from labcore.train.augment import build_augment
from labcore.train.inspector import Inspector
from labcore.train.log import MetricLog
from labcore.train.optimizers import build_optimizer
from labcore.train.rules import BestWeights, has_diverged
from labcore.train.schedules import build_scheduler

HOOKS = ("on_fit_start", "on_epoch_start", "on_batch_end", "on_epoch_end", "on_fit_end")
FLUSH_SECONDS = 0.1  # how stale the live log may get: pages poll every 0.5 s
FLUSH_ROWS = 256


class Callback:
    """Override any of the five hooks; each gets the trainer and the latest logs dict."""

    def on_fit_start(self, trainer: Trainer, logs: dict) -> None: ...
    def on_epoch_start(self, trainer: Trainer, logs: dict) -> None: ...
    def on_batch_end(self, trainer: Trainer, logs: dict) -> None: ...
    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None: ...
    def on_fit_end(self, trainer: Trainer, logs: dict) -> None: ...


def check_hooks(callbacks: Sequence[Callback]) -> None:
    """A misspelt hook would silently never run: refuse callbacks with `on_` methods the loops never call."""
    for cb in callbacks:
        unknown = {m for m in dir(cb) if m.startswith("on_") and m not in HOOKS}
        if unknown:
            raise TypeError(f"{type(cb).__name__} defines unknown hooks {sorted(unknown)}; use {HOOKS}")


class _Step(NamedTuple):
    """One training step waiting to be read back: its numbers still live as tensors (see Trainer.flush)."""

    step: int
    epoch: float
    lr: float
    time: float
    size: int
    loss: torch.Tensor
    grad_norm: torch.Tensor
    pred: torch.Tensor | None  # predicted classes (None for regression), compared with y at read-back
    y: torch.Tensor


class Diverged(Exception):
    """The loss became NaN/Inf or exploded; `step` says when."""

    def __init__(self, step: int, loss: float):
        self.step, self.loss = step, loss
        super().__init__(f"loss {loss} at step {step}")


@dataclass
class FitResult:
    epochs_done: int
    seconds: float
    best_epoch: int
    best_val_loss: float
    stopped_early: bool = False
    extras: dict = field(default_factory=dict)


def pick_device(name: str = "auto") -> torch.device:
    """"auto" means CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    def __init__(self, cfg: RunConfig, data: DataBundle, *, model: nn.Module | None = None,
                 callbacks: list[Callback] | tuple[Callback, ...] = (), inspector: Inspector | None = None):
        self.cfg, self.data = cfg, data
        self.device = pick_device(cfg.train.device)
        if model is None:
            model = build_model(cfg.model, data, seed=cfg.train.seed)
        self.model = model.to(self.device)
        # Listed once: walking the module tree every step costs ~2% of a small model's training time.
        self.params = list(self.model.parameters())
        self.optimizer = build_optimizer(self.params, cfg.optim)
        n = len(data.y_train)
        self.batch_size = max(1, min(cfg.train.batch_size, n))
        self.steps_per_epoch = math.ceil(n / self.batch_size)
        self.total_steps = self.steps_per_epoch * cfg.train.epochs
        # A constant rate never changes: no scheduler, whose per-step bookkeeping costs ~3% on small models.
        moves = cfg.optim.schedule != "constant" or cfg.optim.warmup_epochs > 0
        self.scheduler = (build_scheduler(self.optimizer, cfg.optim, self.steps_per_epoch, self.total_steps)
                          if moves else None)
        self.generator = torch.Generator().manual_seed(cfg.train.seed)
        # Dropout masks and augmentations draw from this run's own generators, never from torch's global
        # one, which every thread shares (labcore.seeding): a seeded run is the same whoever else trains.
        self.dropout_generator = torch.Generator(self.device).manual_seed(cfg.train.seed + 1)
        use_generator(self.model, self.dropout_generator)
        self.augment = build_augment(cfg.augment, data.input_shape, seed=cfg.train.seed + 2)
        self.amp = cfg.train.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if self.amp else None
        self.callbacks = list(callbacks)
        self.inspector = inspector  # labcore.train.inspector: a look inside on a throttled few steps
        # Forecasting datasets are regression: mean squared error, and no accuracy to report.
        self.regression = data.info.task == "regression"
        check_hooks(self.callbacks)
        self.log = MetricLog()
        self.should_stop = self.stopped_early = False
        self.step = self.epoch = 0
        self.best = BestWeights()
        self._first_loss: float | None = None
        # Per-step numbers are read back in bunches (a read stalls a GPU pipeline, and on a CPU each row's
        # bookkeeping costs ~2% of a small model's step): at most every FLUSH_SECONDS, the first step at once.
        self._pending: list[_Step] = []
        self._last_flush = -math.inf
        self._sums = [0.0, 0.0, 0]
        self._flat_grad: torch.Tensor | None = None  # see _adopt_flat_grads
        self._grad_probe: tuple = (None, None)
        self._flat_possible = True
        self.train_x, self.train_y = data.x_train.to(self.device), data.y_train.to(self.device)
        self.val_x, self.val_y = data.x_val.to(self.device), data.y_val.to(self.device)

    # -- the loop -------------------------------------------------------------------------------
    def fit(self) -> FitResult:
        start = self._start = time.perf_counter()
        logs: dict = {}
        self._call("on_fit_start", logs)
        n = len(self.train_y)
        for epoch in range(1, self.cfg.train.epochs + 1):
            self.epoch = epoch
            self._call("on_epoch_start", {"epoch": self.epoch})
            self.model.train()
            t0 = time.perf_counter()
            order = torch.randperm(n, generator=self.generator).to(self.device)
            self._sums = [0.0, 0.0, 0]  # loss x samples, correct predictions, samples: filled by flush()
            for i in range(0, n, self.batch_size):
                idx = order[i : i + self.batch_size]
                if len(idx) < 2 and self._sums[2] + len(self._pending):  # batch norm cannot train on one sample
                    continue
                x, y = self._inputs(self.train_x[idx], train=True), self.train_y[idx]
                lr = self.optimizer.param_groups[0]["lr"]
                at = self.epoch - 1 + (i + len(idx)) / n
                looking = self.inspector is not None and self.inspector.start(self.step)
                try:
                    loss, logits, grad_norm = self._train_step(x, y)
                finally:
                    if looking:
                        self.inspector.finish(self.step, at)
                now = time.perf_counter()
                self._pending.append(_Step(self.step, at, lr, now - self._start,
                                           len(y), loss, grad_norm, None if self.regression else logits.argmax(1), y))
                due = now - self._last_flush >= FLUSH_SECONDS or len(self._pending) >= FLUSH_ROWS
                self._call("on_batch_end", self.flush() if due else {"step": self.step})
                if self.should_stop:
                    break
            self.flush()
            loss_sum, correct, seen = self._sums
            if seen == 0:
                break
            val_loss, val_acc = self.evaluate(self.val_x, self.val_y)
            seconds = time.perf_counter() - t0
            logs = {"epoch": self.epoch, "step": self.step, "loss": loss_sum / seen,
                    "acc": correct / seen, "val_loss": val_loss, "val_acc": val_acc,
                    "seconds": seconds, "samples_per_s": seen / max(seconds, 1e-9),
                    "lr": self.optimizer.param_groups[0]["lr"]}
            if self.regression:
                del logs["acc"], logs["val_acc"]
            self._remember_best(logs)
            self.log.add_epoch(logs)
            self._call("on_epoch_end", logs)
            if self.should_stop:
                break
        self._call("on_fit_end", logs)
        return FitResult(self.log.epochs[-1]["epoch"] if self.log.epochs else 0, time.perf_counter() - start,
                         self.best_epoch, self.best_val_loss, stopped_early=self.stopped_early)

    def _train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        flat = self._flat_grad
        if flat is not None and self._grad_probe[0].grad is self._grad_probe[1]:
            flat.zero_()  # one op instead of zero_grad's loop; backward then adds into the views in place
        else:
            flat = self._flat_grad = None  # first step, or someone replaced the gradients: the plain way
            self.optimizer.zero_grad(set_to_none=True)
        if self.amp:
            with torch.autocast("cuda", dtype=torch.float16):
                logits = self.model(x)
                loss = self.loss(logits, y)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)  # true gradients for the norm and for clipping
        else:
            logits = self.model(x)
            loss = self.loss(logits, y)
            loss.backward()
        if flat is None and self._flat_possible:
            flat = self._adopt_flat_grads()
        if flat is not None:
            grad_norm = torch.linalg.vector_norm(flat)
        else:
            grad_norm = torch.nn.utils.get_total_norm([p.grad for p in self.params if p.grad is not None])
        if self.cfg.optim.clip_norm > 0:
            torch.nn.utils.clip_grads_with_norm_(self.params, self.cfg.optim.clip_norm, grad_norm)
        if self.amp:
            self.scaler.step(self.optimizer)  # skips the step if fp16 gradients overflowed
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.step += 1
        return loss.detach(), logits.detach(), grad_norm

    def _adopt_flat_grads(self) -> torch.Tensor | None:
        """Move the gradients into one flat buffer and make each `p.grad` a view of it.

        The per-step gradient norm the page plots is then one op on one tensor instead of a concatenation
        (on the default digits CNN that was ~1% of the step), and zeroing is one op too. Only when every
        trainable parameter got a gradient (a parameter that is used only sometimes would keep its own
        gradient and never be zeroed) and all share one dtype and device.
        """
        trainable = [p for p in self.params if p.requires_grad]
        grads = [p.grad for p in trainable]
        if (not trainable or any(g is None or g.layout != torch.strided for g in grads)
                or len({(g.dtype, g.device) for g in grads}) > 1):
            self._flat_possible = False  # asked once: this model keeps the plain path
            return None
        flat = torch.cat([g.reshape(-1) for g in grads])
        offset = 0
        for p in trainable:
            p.grad = flat[offset : offset + p.numel()].view_as(p)
            offset += p.numel()
        self._flat_grad, self._grad_probe = flat, (trainable[0], trainable[0].grad)
        return flat

    def flush(self) -> dict:
        """Turn pending per-step tensors into log rows (one read-back), check for divergence; the last row."""
        if not self._pending:
            return {}
        pending = self._pending
        values = torch.stack([t for p in pending for t in (p.loss, p.grad_norm)]).view(-1, 2).tolist()
        rows = [{"step": p.step, "epoch": p.epoch, "loss": v[0], "lr": p.lr, "grad_norm": v[1], "time": p.time}
                for p, v in zip(pending, values, strict=True)]
        self._sums[0] += sum(v[0] * p.size for p, v in zip(pending, values, strict=True))
        self._sums[2] += sum(p.size for p in pending)
        if not self.regression:  # right answers counted once per bunch (predictions kept, not logits: small)
            self._sums[1] += (torch.cat([p.pred for p in pending]) == torch.cat([p.y for p in pending])).sum().item()
        self._pending.clear()
        self._last_flush = time.perf_counter()
        if self._first_loss is None:
            self._first_loss = rows[0]["loss"]
        for i, r in enumerate(rows):
            grad_norm = 0.0 if self.amp else r["grad_norm"]  # AMP skips overflowed steps itself
            if has_diverged(r["loss"], self._first_loss, grad_norm):
                # The log (chart, progress bar) ends at the step that blew up, the step the message names.
                self.log.add_steps(rows[: i + 1])
                raise Diverged(int(r["step"]), r["loss"])
        self.log.add_steps(rows)
        return rows[-1]

    # -- helpers ----------------------------------------------------------------------------------
    def _inputs(self, x: torch.Tensor, train: bool = False) -> torch.Tensor:
        if x.dtype == torch.uint8:  # big image sets are kept as bytes; scale per batch
            x = x.float().div_(255)
        if train and self.augment is not None:
            x = self.augment(x)
        return x

    def loss(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on class logits; mean squared error for regression (forecasts)."""
        if self.regression:
            return F.mse_loss(outputs.float(), y)
        return F.cross_entropy(outputs, y)

    def _call(self, hook: str, logs: dict) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, logs)

    def _remember_best(self, logs: dict) -> None:
        self.best.offer(self.model, logs["epoch"], logs["val_loss"])

    def restore_best(self) -> bool:
        return self.best.restore(self.model)

    @property
    def best_epoch(self) -> int:
        return self.best.epoch

    @property
    def best_val_loss(self) -> float:
        return self.best.val_loss

    def set_base_lr(self, lr: float) -> None:
        """Change the learning rate mid-run; the schedule keeps shaping it from here on."""
        if self.scheduler is None:
            mult = 1.0
        else:
            mult = self.optimizer.param_groups[0]["lr"] / max(self.scheduler.base_lrs[0], 1e-30)
            self.scheduler.base_lrs = [lr] * len(self.optimizer.param_groups)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * mult

    @torch.no_grad()
    def predict_logits(self, x: torch.Tensor, batch: int = 2048) -> torch.Tensor:
        self.model.eval()
        out = []
        for i in range(0, len(x), batch):
            xb = self._inputs(x[i : i + batch].to(self.device))
            with torch.autocast("cuda", dtype=torch.float16, enabled=self.amp):
                out.append(self.model(xb).float())
        return torch.cat(out) if out else torch.empty(0, self.data.num_classes)

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) on a held-out set; for regression (mean squared error, NaN)."""
        logits = self.predict_logits(x)
        y = y.to(logits.device)
        if self.regression:
            return self.loss(logits, y).item(), float("nan")
        return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()

    def predict_proba(self, x: torch.Tensor) -> np.ndarray:
        return torch.softmax(self.predict_logits(x), 1).cpu().numpy()


class EarlyStopping(Callback):
    """Stop when val loss has not improved for `patience` epochs, and go back to the best weights."""

    def __init__(self, patience: int, min_delta: float = 1e-4):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.wait = math.inf, 0

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        if logs["val_loss"] < self.best - self.min_delta:
            self.best, self.wait = logs["val_loss"], 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.should_stop = True
            trainer.stopped_early = True
            trainer.restore_best()
