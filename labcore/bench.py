"""Benchmarks that print ratios against a baseline measured in the same run (never absolute targets).

`overhead`: labcore's Trainer vs a bare PyTorch loop on the same model, batches and optimizer.
"""

from __future__ import annotations

import copy
import time

import torch
import torch.nn.functional as F

from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.models import build_model
from labcore.train.optimizers import build_optimizer
from labcore.train.trainer import Trainer


def bare_fit(model, optimizer, data, epochs: int, batch_size: int, seed: int) -> int:
    """The loop a person writes by hand: shuffle, forward, loss, backward, step; validate each epoch."""
    x, y, n = data.x_train, data.y_train, len(data.y_train)
    generator = torch.Generator().manual_seed(seed)
    samples = 0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            samples += len(idx)
        model.eval()
        with torch.no_grad():
            val_logits = model(data.x_val)
            F.cross_entropy(val_logits, data.y_val).item(), (val_logits.argmax(1) == data.y_val).float().mean().item()
    return samples


def overhead(cfg: RunConfig | None = None, repeats: int = 3) -> dict:
    """Samples/s of labcore's Trainer ÷ samples/s of `bare_fit`, best of `repeats` alternating runs."""
    cfg = cfg or RunConfig()
    data = load_dataset(cfg.data)
    torch.manual_seed(cfg.train.seed)
    initial = build_model(cfg.model, data)
    times: dict[str, list[float]] = {"labcore": [], "bare": []}
    samples = 0
    for _ in range(repeats):
        model = copy.deepcopy(initial)
        t0 = time.perf_counter()
        samples = bare_fit(model, build_optimizer(model.parameters(), cfg.optim), data,
                                   cfg.train.epochs, cfg.train.batch_size, cfg.train.seed)
        times["bare"].append(time.perf_counter() - t0)

        trainer = Trainer(cfg, data, model=copy.deepcopy(initial))
        t0 = time.perf_counter()
        trainer.fit()
        times["labcore"].append(time.perf_counter() - t0)
    # Both loops see the same batches, so the same number of samples: compare the fastest run of each.
    rate = {k: samples / min(v) for k, v in times.items()}
    return {"benchmark": "overhead", "ratio": rate["labcore"] / rate["bare"],
            "labcore": rate["labcore"], "bare": rate["bare"], "unit": "samples/s",
            "data": cfg.data.name, "model": cfg.model.name, "optimizer": cfg.optim.name,
            "epochs": cfg.train.epochs, "batch_size": cfg.train.batch_size, "repeats": repeats,
            "threads": torch.get_num_threads(), "seconds": {k: min(v) for k, v in times.items()}}


BENCHMARKS = {"overhead": overhead}
