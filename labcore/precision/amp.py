"""Autocast on this machine (lesson 18): the same small CNN, from the same start, on the same batches, trained a
few steps in float32 and a few steps under torch.autocast("cpu", dtype=torch.bfloat16); samples per second and
how far the two runs' losses drift apart. On a GPU the same comparison uses float16 autocast with a GradScaler.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from labcore.config import DataConfig
from labcore.data import load_dataset
from labcore.models import build_model, default_config

STEPS = 30
BATCH = 64


@dataclass(frozen=True)
class Run:
    mode: str  # "float32", "bf16" (CPU autocast) or "fp16" (CUDA autocast + GradScaler)
    losses: list[float]
    seconds: float  # the timed steps (the first, warm-up step is not timed)
    samples: int

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Comparison:
    base: Run  # float32
    amp: Run
    device: str
    threads: int

    @property
    def speedup(self) -> float:
        return self.amp.samples_per_s / self.base.samples_per_s

    @property
    def max_loss_difference(self) -> float:
        return max(abs(a - b) for a, b in zip(self.base.losses, self.amp.losses, strict=True))

    @property
    def final_loss_difference(self) -> float:
        return abs(self.base.losses[-1] - self.amp.losses[-1])


def _setup(seed: int, device: str):
    data = load_dataset(DataConfig(name="digits"))
    model = build_model(default_config("cnn"), data, seed=seed).to(device)
    g = torch.Generator().manual_seed(seed)
    n = len(data.y_train)
    batches = [torch.randint(0, n, (BATCH,), generator=g) for _ in range(STEPS + 1)]
    x, y = data.x_train.to(device), data.y_train.to(device)
    return model, [(x[i.to(device)], y[i.to(device)]) for i in batches]


def train_steps(model, batches, mode: str, device: str = "cpu") -> Run:
    """One untimed warm-up step, then the rest timed; SGD with momentum (the same update for every mode)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mode)
    scaler = torch.amp.GradScaler(device) if mode == "fp16" else None
    losses: list[float] = []
    t0 = 0.0
    for i, (x, y) in enumerate(batches):
        if i == 1:
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=dtype) if dtype is not None else nullcontext():
            loss = F.cross_entropy(model(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        losses.append(loss.item())  # a sync point: the step is finished when it is timed
    seconds = time.perf_counter() - t0
    return Run(mode, losses, seconds, BATCH * (len(batches) - 1))


def compare(seed: int = 0, device: str = "cpu", repeats: int = 3,
            progress: Callable[[float], None] | None = None) -> Comparison:
    """float32 against autocast (bfloat16 on the CPU, float16 on CUDA) from the same weights on the same batches.

    One untimed pair first (the first calls of a process build their kernels), then `repeats` pairs, the two
    modes taking turns so that a busy moment slows both; each mode's time is its median run."""
    model, batches = _setup(seed, device)
    modes = ("float32", "bf16" if device == "cpu" else "fp16")
    runs: dict[str, list[Run]] = {m: [] for m in modes}
    total = 2 * (repeats + 1)
    for r in range(repeats + 1):
        for j, mode in enumerate(modes):
            run = train_steps(copy.deepcopy(model), batches, mode, device)
            if r:
                runs[mode].append(run)
            if progress is not None:
                progress((2 * r + j + 1) / total)

    def median(mode: str) -> Run:
        ordered = sorted(runs[mode], key=lambda x: x.seconds)
        return ordered[(len(ordered) - 1) // 2]

    return Comparison(median(modes[0]), median(modes[1]), device, torch.get_num_threads())


def bench(repeats: int = 5) -> dict:
    """float32 vs autocast samples/s, the median of `repeats` back-to-back pairs (each after an untimed one), on the
    CPU with bfloat16 and, when CUDA is available, on the GPU with float16."""
    out: dict = {"benchmark": "amp", "unit": "samples/s", "model": "cnn", "data": "digits", "steps": STEPS,
                 "batch_size": BATCH, "repeats": repeats, "threads": torch.get_num_threads()}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        pairs = [compare(seed=0, device=device, repeats=1) for _ in range(repeats)]  # each with its own warm-up
        pairs.sort(key=lambda c: c.speedup)
        mid = pairs[(len(pairs) - 1) // 2]
        name = "bf16_autocast" if device == "cpu" else "fp16_autocast"
        part = {"ratio": mid.speedup, "float32": mid.base.samples_per_s, name: mid.amp.samples_per_s,
                "pair_ratios": [round(c.speedup, 4) for c in pairs],
                "max_loss_difference": max(c.max_loss_difference for c in pairs)}
        if device == "cpu":
            out |= part
        else:
            out["cuda"] = part | {"gpu": torch.cuda.get_device_name(0)}
    return out
