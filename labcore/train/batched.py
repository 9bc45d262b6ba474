"""Train several copies of one network in a single computation: the engine under the optimizer race.

`groupify(model, k)` turns a network into its "grouped" twin that holds k contenders side by side:
contender j owns the j-th block of every layer's channels. A convolution becomes one convolution with
`groups=k`, a linear layer one batched matmul (one plain matmul on the shared input), a batch norm one
batch norm over k*C channels, so each contender keeps its own batch statistics and running averages by
construction. Everything without parameters (activations, pooling, dropout, flatten, residual adds)
works on the wider tensor unchanged. Inputs stay shared: every contender sees the very same batch.

Why not `torch.func.vmap`: on this 2-core CPU a vmapped 6-contender digits CNN ran *slower* than six
runs one after another (its batching rules for max-pooling and batch norm move the contender dimension
around with copies), and `replace_all_batch_norm_modules_` drops running statistics, so eval mode
would no longer match a model trained alone.

A `Heat` is the contenders that share a batch size. Each keeps a real `torch.optim` optimizer and its
own schedule: its parameters are leaf tensors that view row j of the stacked weights, so the
optimizer's in-place update lands in the shared storage the next forward pass reads.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from labcore.config import OptimConfig, TrainConfig
from labcore.train.log import MetricLog
from labcore.train.optimizers import build_optimizer
from labcore.train.rules import has_diverged
from labcore.train.schedules import build_scheduler


class _Grouped(nn.Module):
    """Copies a layer's parameters and buffers k times along a new first dimension (identical starts)."""

    def __init__(self, layer: nn.Module, k: int):
        super().__init__()
        self.k = k
        for name, p in layer.named_parameters(recurse=False):
            self.register_parameter(name, nn.Parameter(p.detach().expand(k, *p.shape).clone()))
        for name, b in layer.named_buffers(recurse=False):
            self.register_buffer(name, b.expand(k, *b.shape).clone())
        self.bias = getattr(self, "bias", None)  # layers built with bias=False have none

    def _flat(self, name: str) -> torch.Tensor | None:
        """A stacked tensor as one long vector (a view: in-place updates reach the stack)."""
        t = getattr(self, name, None)
        return None if t is None else t.view(-1)


class GroupedLinear(_Grouped):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, out_f, in_f = self.weight.shape
        if x.shape[-1] == in_f:  # shared input: one matmul against every contender's weights at once
            return F.linear(x, self.weight.view(k * out_f, in_f), self._flat("bias"))
        n = x.shape[0]
        y = torch.bmm(x.view(n, k, in_f).transpose(0, 1), self.weight.transpose(1, 2))  # (k, n, out)
        if self.bias is not None:
            y = y + self.bias.unsqueeze(1)
        return y.transpose(0, 1).reshape(n, k * out_f)


class GroupedConv2d(_Grouped):
    def __init__(self, conv: nn.Conv2d, k: int):
        if conv.groups != 1 or conv.padding_mode != "zeros":
            raise TypeError("the race supports plain convolutions only (groups=1, zero padding)")
        super().__init__(conv, k)
        self.in_channels, self.stride, self.padding, self.dilation = (
            conv.in_channels, conv.stride, conv.padding, conv.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.view(-1, *self.weight.shape[2:])  # (k*out, in, kh, kw)
        groups = 1 if x.shape[1] == self.in_channels else self.k  # shared input: every contender reads all of it
        return F.conv2d(x, w, self._flat("bias"), self.stride, self.padding, self.dilation, groups)


class GroupedBatchNorm(_Grouped):
    """`_BatchNorm.forward` over k*C channels: per-contender batch statistics and running averages."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm, k: int):
        if not bn.track_running_stats:
            raise TypeError("the race supports batch norm with running statistics only")
        super().__init__(bn, k)
        self.momentum, self.eps, self.channels = bn.momentum, bn.eps, bn.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == self.channels and self.k > 1:  # straight after the shared input
            x = x.repeat(1, self.k, *([1] * (x.dim() - 2)))
        factor = self.momentum or 0.0
        if self.training:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average; every contender has seen as many batches
                factor = 1.0 / float(self.num_batches_tracked[0])
        return F.batch_norm(x, self._flat("running_mean"), self._flat("running_var"), self._flat("weight"),
                            self._flat("bias"), self.training, factor, self.eps)


class GroupedLayerNorm(_Grouped):
    """`nn.LayerNorm` over the last dimension of (N, k*C): each contender's C units normalised on their own."""

    def __init__(self, ln: nn.LayerNorm, k: int):
        if len(ln.normalized_shape) != 1 or not ln.elementwise_affine:
            raise TypeError("the race supports layer norm over one dimension, with its scale and shift, only")
        super().__init__(ln, k)
        self.eps, self.features = ln.eps, ln.normalized_shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if x.shape[-1] == self.features and self.k > 1:  # straight after the shared input
            x = x.repeat(1, self.k)
        y = F.layer_norm(x.view(n, self.k, self.features), (self.features,), eps=self.eps)
        return (y * self.weight + (0 if self.bias is None else self.bias)).view(n, self.k * self.features)


class GroupedGroupNorm(_Grouped):
    """`nn.GroupNorm(G, C)` for k contenders is one GroupNorm(k*G, k*C): groups never straddle two contenders."""

    def __init__(self, gn: nn.GroupNorm, k: int):
        if not gn.affine:
            raise TypeError("the race supports group norm with its scale and shift only")
        super().__init__(gn, k)
        self.groups, self.eps, self.channels = gn.num_groups, gn.eps, gn.num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == self.channels and self.k > 1:  # straight after the shared input
            x = x.repeat(1, self.k, *([1] * (x.dim() - 2)))
        return F.group_norm(x, self.k * self.groups, self._flat("weight"), self._flat("bias"), self.eps)


GROUPED: dict[type, Callable[[nn.Module, int], nn.Module]] = {
    nn.Linear: GroupedLinear,
    nn.Conv2d: GroupedConv2d,
    nn.BatchNorm1d: GroupedBatchNorm,
    nn.BatchNorm2d: GroupedBatchNorm,
    nn.LayerNorm: GroupedLayerNorm,
    nn.GroupNorm: GroupedGroupNorm,
}


def groupify(model: nn.Module, k: int) -> nn.Module:
    """A copy of `model` computing k contenders at once: (N, ...) in, (N, k * classes) out."""
    model = copy.deepcopy(model)
    _replace(model, k)
    return model


def _replace(module: nn.Module, k: int) -> None:
    for name, child in module.named_children():
        if type(child) in GROUPED:
            setattr(module, name, GROUPED[type(child)](child, k))
        elif any(True for _ in child.parameters(recurse=False)):
            raise TypeError(f"the race cannot batch {type(child).__name__} layers yet")
        else:  # parameter-free layers (activations, pooling, Standardize) and containers stay as they are
            _replace(child, k)


@dataclass
class Lane:
    """One contender inside a heat: its optimizer and schedule, its metric log, how it is doing."""

    index: int  # position in the race
    optim: OptimConfig
    params: list[torch.Tensor]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    log: MetricLog = field(default_factory=MetricLog)
    status: str = "running"  # running, diverged, finished, stopped
    diverged_step: int | None = None
    first_loss: float | None = None
    state_bytes: int = 0  # tensors held in optimizer.state: what the optimizer costs in memory

    @property
    def running(self) -> bool:
        return self.status == "running"

    def measure_state(self) -> None:
        self.state_bytes = sum(t.numel() * t.element_size() for state in self.optimizer.state.values()
                               for t in state.values() if torch.is_tensor(t))


class Heat:
    """The contenders that share a batch size, trained as one grouped network, batch by batch.

    Batches follow `Trainer` exactly (a fresh seeded permutation per epoch, index slices of it, a last
    single-sample batch skipped), so each lane's curve is the one its optimizer gives trained alone.
    """

    def __init__(self, template: nn.Module, optims: list[tuple[int, OptimConfig]], batch_size: int,
                 tensors: tuple[torch.Tensor, ...], train: TrainConfig, classes: int,
                 augment: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self.template, self.k, self.augment = template, len(optims), augment
        self.x, self.y, self.x_val, self.y_val = tensors
        device = self.x.device
        self.model = groupify(template, self.k).to(device).train()
        self.classes = classes
        self.stacked = list(self.model.parameters())
        self.n, self.epochs = len(self.y), train.epochs
        self.batch_size = max(1, min(batch_size, self.n))
        self.steps_per_epoch = math.ceil(self.n / self.batch_size)
        total = self.steps_per_epoch * train.epochs
        self.lanes: list[Lane] = []
        for j, (index, optim) in enumerate(optims):
            params = [s.detach()[j] for s in self.stacked]  # leaves viewing row j of each stack
            optimizer = build_optimizer(params, optim)
            self.lanes.append(Lane(index, optim, params, optimizer,
                                   build_scheduler(optimizer, optim, self.steps_per_epoch, total)))
        clip = torch.tensor([o.clip_norm for _, o in optims], device=device)
        self.clip = clip if bool((clip > 0).any()) else None
        self.generator = torch.Generator().manual_seed(train.seed)  # the same order in every heat
        self.step = self.epoch = self.pos = 0
        self.seconds = 0.0  # this heat's own compute time: what its rows report as "time"
        self.finished = False
        # On GPUs reading numbers back stalls the pipeline: collect steps and read 16 at once.
        self._flush_every = 1 if device.type == "cpu" else 16
        self._pending: list[tuple] = []

    @property
    def progress(self) -> float:
        """Epochs of data seen: the race advances whichever heat is behind."""
        return self.epoch + self.pos / self.n

    def advance(self) -> None:
        """Train one batch (and close the epoch after its last batch)."""
        self._t0 = time.perf_counter()
        if self.pos == 0:
            self._start_epoch()
        idx = self.order[self.pos : self.pos + self.batch_size]
        self.pos += len(idx)
        if len(idx) >= 2 or not self.seen:  # batch norm cannot train on a single sample
            self._train_step(idx)
        if self.pos >= self.n:
            self._end_epoch()
        self.seconds = self._clock()

    def _clock(self) -> float:
        """Seconds this heat has computed so far, the current batch included."""
        return self.seconds + time.perf_counter() - self._t0

    def _start_epoch(self) -> None:
        self.order = torch.randperm(self.n, generator=self.generator).to(self.x.device)
        self.loss_sum = torch.zeros(self.k, device=self.x.device)
        self.correct = torch.zeros(self.k, device=self.x.device, dtype=torch.long)
        self.seen = 0
        self.epoch_t0 = self.seconds

    def _train_step(self, idx: torch.Tensor) -> None:
        x, y = _inputs(self.x[idx]), self.y[idx]
        if self.augment is not None:
            x = self.augment(x)
        logits = self.model(x).view(len(y), self.k, self.classes)
        losses = _losses(logits, y)
        losses.sum().backward()  # contenders share no weights, so each gets exactly its own gradient
        grads = [s.grad for s in self.stacked]
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads], 1).norm(dim=1)  # per contender
        if self.clip is not None:  # as clip_grads_with_norm_, per contender; 0 means no clipping
            coef = torch.where(self.clip > 0, (self.clip / (norms + 1e-6)).clamp(max=1.0), 1.0)
            for g in grads:
                g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))
        lrs = [lane.optimizer.param_groups[0]["lr"] for lane in self.lanes]
        for j, lane in enumerate(self.lanes):
            if lane.running:
                for p, g in zip(lane.params, grads, strict=True):
                    p.grad = g[j]
                lane.optimizer.step()
                lane.scheduler.step()
        for s in self.stacked:
            s.grad = None
        self.step += 1
        self.loss_sum += losses.detach() * len(y)
        self.correct += (logits.detach().argmax(2) == y[:, None]).sum(0)
        self.seen += len(y)
        self._pending.append((self.step, self.epoch + self.pos / self.n, lrs, losses.detach(), norms))
        if len(self._pending) >= self._flush_every:
            self._flush()
        if self.step == 1:
            for lane in self.lanes:
                lane.measure_state()

    def _flush(self) -> None:
        """Pending per-step tensors into each lane's rows; a lane whose loss blew up leaves the race."""
        if not self._pending:
            return
        values = torch.stack([torch.stack([p[3].float(), p[4].float()]) for p in self._pending]).tolist()
        now = self._clock()
        for j, lane in enumerate(self.lanes):
            if not lane.running:
                continue
            rows = []
            for p, v in zip(self._pending, values, strict=True):
                loss, grad_norm = v[0][j], v[1][j]
                rows.append({"step": p[0], "epoch": p[1], "loss": loss, "lr": p[2][j], "grad_norm": grad_norm,
                             "time": now})
                if lane.first_loss is None:
                    lane.first_loss = loss
                if has_diverged(loss, lane.first_loss, grad_norm):
                    self._retire(j, p[0])
                    break
            lane.log.add_steps(rows)
        self._pending.clear()

    def _retire(self, j: int, step: int) -> None:
        """Stop training a diverged lane; zero weights keep NaNs and overflow out of its share of the work."""
        lane = self.lanes[j]
        lane.status, lane.diverged_step = "diverged", step
        with torch.no_grad():
            for s in self.stacked:
                s[j].zero_()
        if all(not lane.running for lane in self.lanes):
            self.finished = True

    def _end_epoch(self) -> None:
        self._flush()
        self.epoch += 1
        self.pos = 0
        if self.seen == 0 or self.finished:
            self.finished = True
            return
        val_loss, val_acc = self.evaluate()
        seconds = self._clock() - self.epoch_t0
        loss, acc = (self.loss_sum / self.seen).tolist(), (self.correct.float() / self.seen).tolist()
        for j, lane in enumerate(self.lanes):
            if lane.running:
                lane.measure_state()
                lane.log.add_epoch({"epoch": self.epoch, "step": self.step, "loss": loss[j], "acc": acc[j],
                                    "val_loss": val_loss[j], "val_acc": val_acc[j], "seconds": seconds,
                                    "samples_per_s": self.seen / max(seconds, 1e-9),
                                    "lr": lane.optimizer.param_groups[0]["lr"]})
        if self.epoch >= self.epochs:
            self.finished = True

    @torch.no_grad()
    def evaluate(self, batch: int = 2048) -> tuple[list[float], list[float]]:
        """(mean cross-entropy, accuracy) on the validation set, per contender, in eval mode."""
        self.model.eval()
        logits = torch.cat([self.model(_inputs(self.x_val[i : i + batch])).view(-1, self.k, self.classes)
                            for i in range(0, len(self.y_val), batch)])
        self.model.train()
        correct = (logits.argmax(2) == self.y_val[:, None]).float().mean(0)
        return _losses(logits, self.y_val).tolist(), correct.tolist()

    def contender_model(self, j: int) -> nn.Module:
        """Lane j as an ordinary model (the template's architecture with lane j's weights and statistics)."""
        model = copy.deepcopy(self.template)
        state = self.model.state_dict()
        grouped = {f"{name}.{key}" for name, m in self.model.named_modules() if isinstance(m, _Grouped)
                   for key in m.state_dict()}
        model.load_state_dict({key: t[j] if key in grouped else t for key, t in state.items()})
        return model.eval()


def _inputs(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255) if x.dtype == torch.uint8 else x  # big image sets are kept as bytes


def _losses(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per contender of (N, k, classes) logits."""
    return F.cross_entropy(logits.permute(0, 2, 1), y[:, None].expand(-1, logits.shape[1]),
                           reduction="none").mean(0)
