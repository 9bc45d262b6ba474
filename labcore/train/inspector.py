"""Inside the network while it trains: per-layer summaries of activations, their gradients and the weights.

An `Inspector` looks at a few training steps only (at most one every `every_s` seconds and every
`every_steps` steps). On such a step, and only then, forward hooks sit on the model's activation modules
(ReLU, Tanh, Sigmoid, GELU...; the outputs of Linear/Conv layers when a model has none), each also hooking
its output's gradient; a copy of the weights is kept for the update they receive. What is stored are small
summaries, never the tensors: a histogram over fixed bins, mean and standard deviation, the share of dead
ReLUs and of saturated tanh/sigmoid outputs, each weight matrix's norm and its update ratio ‖ΔW‖/‖W‖.

The trainer calls `start(step)` before a step and `finish(step, epoch)` after it; pages read `snapshot()`
(a list copied under a lock) from another thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import torch
from torch import nn

ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Mish)
WEIGHT_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
BINS = 40
EVERY_S = 0.25  # at most four looks a second: the page redraws twice a second
EVERY_STEPS = 10  # and at most one step in ten: a look costs about one step, so a slow machine pays < 10% too
FREE_LOOKS = 40  # the first looks need no time gap, only FREE_SPACING steps: a 0.2 s run gets a curve, not 2 dots
FREE_SPACING = 25  # ... one look in 25 steps: a look costs ~2 steps, so the default run pays < 10 % (bench inspect)
MAX_RECORDS = 600  # then every other record goes and the spacing doubles (a long run stays small)
TANH_LIMIT = 0.99  # |tanh| above: saturated (its gradient 1 - tanh² is below 0.02)
SIGMOID_LIMIT = 0.01  # sigmoid below 0.01 or above 0.99: saturated


def _kind(module: nn.Module) -> str:
    """"relu" (dead units can be counted), "tanh"/"sigmoid" (saturation), or "other"."""
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    return "other"


def _labelled(modules: list[tuple[str, nn.Module]]) -> list[tuple[str, str, nn.Module]]:
    """(label, qualified name, module): "ReLU 1", "ReLU 2", "Linear 1"... numbered per type, in model order."""
    counts: dict[str, int] = {}
    out = []
    for name, m in modules:
        kind = type(m).__name__
        counts[kind] = counts.get(kind, 0) + 1
        out.append((f"{kind} {counts[kind]}", name, m))
    return out


def summarize_tensor(x: torch.Tensor, kind: str = "other", bins: int = BINS) -> dict:
    """A tensor as a few numbers: mean, std, range, `bins` histogram counts over [lo, hi], dead and saturated shares.

    dead: the share of units (features, dim 1; a conv channel counts as one unit over all its positions)
    that are 0 for every example of the batch (ReLU only). saturated: the share of outputs with |tanh| > 0.99,
    or sigmoid < 0.01 or > 0.99 (tanh and sigmoid only). Tensors come back as tensors: `finish` reads them
    back in one go.
    """
    x = x.detach().float()
    flat = x.reshape(-1)
    finite = flat[torch.isfinite(flat)]  # a diverging run: its NaN/Inf are left out of the histogram
    if finite.numel():
        lo, hi = finite.min(), finite.max()
        counts = torch.histc(finite, bins=bins, min=lo.item(), max=hi.item())
    else:
        lo = hi = torch.zeros((), device=x.device)
        counts = torch.zeros(bins, device=x.device)
    out = {"mean": flat.mean(), "std": flat.std() if flat.numel() > 1 else torch.zeros((), device=x.device),
           "lo": lo, "hi": hi, "counts": counts}
    if kind == "relu" and x.dim() >= 2:
        alive = (x != 0).transpose(0, 1).reshape(x.shape[1], -1).any(1)
        out["dead"] = 1.0 - alive.float().mean()
    elif kind == "tanh":
        out["saturated"] = (flat.abs() > TANH_LIMIT).float().mean()
    elif kind == "sigmoid":
        out["saturated"] = ((flat < SIGMOID_LIMIT) | (flat > 1 - SIGMOID_LIMIT)).float().mean()
    return out


def _to_python(stats: dict) -> dict:
    return {k: (v.tolist() if k == "counts" else float(v)) for k, v in stats.items()}


class Inspector:
    """Per-layer summaries of a training model, taken on a throttled few steps; thread-safe to read."""

    def __init__(self, model: nn.Module, *, every_s: float = EVERY_S, every_steps: int = EVERY_STEPS, bins: int = BINS,
                 max_records: int = MAX_RECORDS, free_looks: int = FREE_LOOKS, free_spacing: int = FREE_SPACING,
                 clock: Callable[[], float] = time.perf_counter):
        self.model, self.bins, self.clock = model, bins, clock
        self.free_looks, self.free_spacing = free_looks, max(1, free_spacing)
        self.every_s, self.every_steps, self.max_records = every_s, max(1, every_steps), max(2, max_records)
        acts = [(n, m) for n, m in model.named_modules() if isinstance(m, ACTIVATION_TYPES)]
        if not acts:  # no activation modules (functional activations): the layers' outputs instead
            acts = [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_TYPES)]
        self.layers = _labelled(acts)
        self.weights = [(label, m.weight) for label, _, m in _labelled(
            [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_TYPES)]) if m.weight.requires_grad]
        self._lock = threading.Lock()
        self._records: list[dict] = []
        self._last_time = -float("inf")
        self._last_step: int | None = None
        self._handles: list = []
        self._act: dict[str, dict] = {}
        self._grad: dict[str, dict] = {}
        self._before: list[torch.Tensor] = []

    @property
    def layer_names(self) -> list[str]:
        return [label for label, _, _ in self.layers]

    @property
    def weight_names(self) -> list[str]:
        return [label for label, _ in self.weights]

    def due(self, step: int) -> bool:
        if self._last_step is not None and step - self._last_step < self.every_steps:
            return False
        with self._lock:
            free = len(self._records) < self.free_looks
        if free and (self._last_step is None or step - self._last_step >= self.free_spacing):
            return True
        return self.clock() - self._last_time >= self.every_s

    def start(self, step: int) -> bool:
        """Before a training step: if a look is due, hook the layers and remember the weights. True if hooked."""
        if self._handles or not self.due(step):
            return False
        self._last_time, self._last_step = self.clock(), step
        self._act, self._grad = {}, {}
        for label, _, module in self.layers:
            self._handles.append(module.register_forward_hook(self._forward_hook(label, _kind(module))))
        with torch.no_grad():
            self._before = [w.detach().clone() for _, w in self.weights]
        return True

    def _forward_hook(self, label: str, kind: str):
        def hook(module: nn.Module, inputs, output) -> None:
            if not isinstance(output, torch.Tensor):
                return
            self._act[label] = summarize_tensor(output, kind, self.bins)
            if output.requires_grad:
                output.register_hook(lambda g: self._grad.__setitem__(label, summarize_tensor(g, "other", self.bins)))
        return hook

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def finish(self, step: int, epoch: float) -> dict | None:
        """After the step (optimizer stepped): unhook, summarise the weights and their update; store one record."""
        if not self._handles:
            return None
        self.detach()
        weights = {}
        with torch.no_grad():
            for (label, w), before in zip(self.weights, self._before, strict=True):
                norm = torch.linalg.vector_norm(before)
                weights[label] = {"norm": torch.linalg.vector_norm(w.detach()),
                                  "ratio": torch.linalg.vector_norm(w.detach() - before) / norm.clamp_min(1e-30)}
        self._before = []
        record = {"step": int(step), "epoch": float(epoch),
                  "act": {k: _to_python(v) for k, v in self._act.items()},
                  "grad": {k: _to_python(self._grad[k]) for k in self.layer_names if k in self._grad},  # model order
                  "weights": {k: _to_python(v) for k, v in weights.items()}}
        self._act, self._grad = {}, {}
        with self._lock:
            self._records.append(record)
            if len(self._records) > self.max_records:  # keep every other one, and look half as often from now
                self._records = self._records[::2]
                self.every_s, self.every_steps = self.every_s * 2, self.every_steps * 2
        return record

    def snapshot(self) -> list[dict]:
        """The records so far (each a dict never changed after it is stored), oldest first."""
        with self._lock:
            return list(self._records)
