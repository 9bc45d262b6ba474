"""Which finished image classifiers a student can try (the Try it page): every model a tab trained, each
strategy of a transfer race (not only the winner), each race contender that did not diverge, each image
model of a comparison (the ViT of the Attention page). Pages turn a `Tryable` into words; nothing here
knows about Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tryable:
    key: str  # "job id", "job id:strategy", "job id:contender index" or "job id:model index"
    job_id: str
    kind: str  # "train", "transfer", "race" or "compare"
    model: str  # registry name: a model ("cnn") or a transfer backbone ("lab_digits")
    data: str  # registry name: a dataset ("digits") or a transfer target ("digits_5_9", "upload")
    accuracy: float  # test accuracy; for a race contender its last validation accuracy (a race has no test)
    run: int  # 1 for the tab's first training run, 2 for the next, ...
    strategy: str = ""  # transfer: features, finetune or scratch
    best: bool = False  # transfer: the strategy chosen on validation
    optimizer: str = ""  # race: the contender's optimizer
    lr: float = 0.0  # race: its learning rate


def _is_image(data: Any) -> bool:
    return data is not None and getattr(getattr(data, "info", None), "kind", None) == "image"


def tryable_models(jobs: Iterable[Any]) -> list[Tryable]:
    """The tryable models of these jobs: the newest run first; inside a transfer race the winner first."""
    from labcore.train.compare import CompareJob
    from labcore.train.race import RaceJob
    from labcore.transfer.job import TransferJob

    per_job: list[list[Tryable]] = []
    for j in sorted(jobs, key=lambda j: j.created):
        config = getattr(j, "config", None)
        model, data = getattr(getattr(config, "model", None), "name", ""), getattr(getattr(config, "data", None), "name", "")
        base = {"job_id": j.id, "run": len(per_job) + 1, "model": model, "data": data}  # counts runs with a model
        out: list[Tryable] = []
        if isinstance(j, TransferJob):
            if j.best is None or j.race is None or j.trainer is None or not _is_image(j.trainer.data):
                continue
            results = sorted(j.results, key=lambda r: r.strategy != j.best.strategy)  # winner first, then race order
            out += [Tryable(key=f"{j.id}:{r.strategy}", kind="transfer", accuracy=r.test_accuracy, strategy=r.strategy,
                            best=r.strategy == j.best.strategy, **base)
                    for r in results if not math.isnan(r.val_accuracy) and r.strategy in j.race.lanes]
        elif isinstance(j, RaceJob):
            if not j.done or j.race is None or not _is_image(j.race.data):
                continue
            for s in j.race.standings():
                if s.status != "diverged" and s.epochs:
                    optim = j.config.contenders[s.index].optim
                    out.append(Tryable(key=f"{j.id}:{s.index}", kind="race", optimizer=optim.name, lr=optim.lr,
                                       accuracy=s.epochs[-1]["val_acc"], **base))
        elif isinstance(j, CompareJob):
            if not j.done or not _is_image(j.data):
                continue
            for i, c in enumerate(j.contenders):
                if c.trainer is not None and c.status != "diverged" and not math.isnan(c.test_acc):
                    out.append(Tryable(key=f"{j.id}:{i}", kind="compare", accuracy=c.test_acc,
                                       **{**base, "model": c.model.name}))
        elif getattr(j, "outcome", None) is not None and hasattr(j.outcome, "test_accuracy") \
                and getattr(j, "trainer", None) is not None and _is_image(j.trainer.data):
            out.append(Tryable(key=j.id, kind="train", accuracy=j.outcome.test_accuracy, **base))
        if out:
            per_job.append(out)
    return [t for out in reversed(per_job) for t in out]


def tryable_network(job: Any, entry: Tryable):
    """(network in eval mode, its DataBundle) for one entry of `tryable_models`."""
    if entry.kind == "transfer":
        return job.race.lanes[entry.strategy].net.eval(), job.trainer.data
    if entry.kind == "race":
        return job.race.contender_model(int(entry.key.rpartition(":")[2])).cpu().eval(), job.race.data
    if entry.kind == "compare":
        return job.contenders[int(entry.key.rpartition(":")[2])].trainer.model.eval(), job.data
    return job.trainer.model.eval(), job.trainer.data
