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


def first_point(cfg: RunConfig | None = None, repeats: int = 5) -> dict:
    """Seconds from submitting a job to its first metric row, against the same first step done inline.

    The baseline is the unavoidable work (build the model and optimizer, one training step) without a
    thread or a job; the ratio shows what the background machinery adds to the wait after Train.
    """
    from labcore.train.job import TrainingJob

    cfg = cfg or RunConfig()
    load_dataset(cfg.data)  # as on the page: the data is cached after the first preview
    job_s, inline_s = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        job = TrainingJob(cfg.with_(train={"epochs": 1})).start()
        while job.trainer is None or not job.trainer.log.last_step:
            if job.done:
                break
            time.sleep(0.001)
        job_s.append(time.perf_counter() - t0)
        job.stop()
        job.join()

        t0 = time.perf_counter()
        trainer = Trainer(cfg, load_dataset(cfg.data))
        x, y = trainer.train_x[: trainer.batch_size], trainer.train_y[: trainer.batch_size]
        trainer._train_step(x, y)
        inline_s.append(time.perf_counter() - t0)
    best_job, best_inline = min(job_s), min(inline_s)
    return {"benchmark": "first_point", "ratio": best_job / best_inline, "job_s": best_job,
            "inline_s": best_inline, "worst_job_s": max(job_s), "repeats": repeats}


BENCHMARKS["first_point"] = first_point


from labcore.train.race import race_bench  # noqa: E402  (the race's benchmark lives with the race)

BENCHMARKS["race"] = race_bench


def playground(repeats: int = 5) -> dict:
    """The optimizer playground's redraw (8 optimizers x 300 steps) against a hand-written torch loop."""
    from labcore.playground.bench import playground as bench  # plotly loads only when this one runs

    return bench(repeats=repeats)


BENCHMARKS["playground"] = playground
