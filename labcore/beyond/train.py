"""Training the segmenter and the detector as one engine job each (seconds on a CPU): per-epoch loss and test
scores for the live curves, then the test set's predictions for the gallery."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from labcore.beyond import metrics
from labcore.beyond.data import SIZE, Split, train_test
from labcore.beyond.models import TinyDetector, TinyUNet
from labcore.engine import Job, Progress

TASKS = ("segment", "detect")
EPOCHS = (1, 12, 1)  # the epochs slider: (low, high, step)
TRAIN_SIZES = (128, 256, 512, 1024)
SEEDS = (0, 99, 1)
BOX_WEIGHT = 5.0  # the box loss (L1 on coordinates as fractions of the image) weighs this much against cross-entropy


@dataclass(frozen=True)
class BeyondConfig:
    task: str = "segment"
    epochs: int = 5
    n_train: int = 512
    skips: bool = True  # segmentation: the U-Net's skip connections
    seed: int = 0
    width: int = 8
    lr: float = 3e-3
    batch: int = 16


@dataclass
class EpochScores:
    """After `epoch` epochs (0: before training): the mean training loss of that epoch and the test scores."""

    epoch: int
    train_loss: float
    test_loss: float
    iou: float  # segmentation: mean mask IoU; detection: mean box IoU
    dice: float = math.nan  # segmentation
    accuracy: float = math.nan  # detection: right class
    hits: float = math.nan  # detection: right class and box IoU >= 0.5
    cls_loss: float = math.nan  # detection: the two parts of the test loss
    box_loss: float = math.nan


@dataclass
class Outcome:
    """The test set and what the trained net makes of it."""

    task: str
    test: Split
    iou: np.ndarray  # per image: mask IoU or box IoU
    dice: np.ndarray | None = None  # segmentation, per image
    pred_masks: np.ndarray | None = None  # (N, H, W) bool
    pred_boxes: np.ndarray | None = None  # (N, 4) pixels
    pred_labels: np.ndarray | None = None  # (N,)
    history: list[EpochScores] = field(default_factory=list)
    seconds: float = 0.0
    epochs: int = 0  # epochs actually run (fewer when stopped)
    model: torch.nn.Module | None = None  # the trained net (CPU), for "Save the model"

    @property
    def last(self) -> EpochScores:
        return self.history[-1]


def _model(cfg: BeyondConfig) -> torch.nn.Module:
    if cfg.task == "segment":
        return TinyUNet(cfg.width, 1, cfg.skips)
    return TinyDetector(cfg.width, 4, SIZE)


def _losses(cfg: BeyondConfig, model, x, labels, masks, boxes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, class part, box part); segmentation: (per-pixel BCE, nan, nan)."""
    if cfg.task == "segment":
        loss = F.binary_cross_entropy_with_logits(model(x)[:, 0], masks)
        return loss, loss.new_tensor(math.nan), loss.new_tensor(math.nan)
    logits, box = model(x)
    cls, reg = F.cross_entropy(logits, labels), F.l1_loss(box, boxes / SIZE)
    return cls + BOX_WEIGHT * reg, cls, BOX_WEIGHT * reg


@torch.no_grad()
def evaluate(cfg: BeyondConfig, model, test: Split, epoch: int, train_loss: float) -> tuple[EpochScores, dict]:
    model.eval()
    loss, cls, reg = _losses(cfg, model, test.x, test.labels, test.masks, test.boxes)
    if cfg.task == "segment":
        pred = (model(test.x)[:, 0] > 0).numpy()
        iou, dc = metrics.mask_iou(pred, test.masks.numpy()), metrics.dice(pred, test.masks.numpy())
        scores = EpochScores(epoch, train_loss, float(loss), float(iou.mean()), dice=float(dc.mean()))
        extra = {"iou": iou, "dice": dc, "pred_masks": pred}
    else:
        logits, box = model(test.x)
        boxes, labels = box * SIZE, logits.argmax(1)
        iou = metrics.box_ious(boxes, test.boxes)
        right = (labels == test.labels).numpy()
        scores = EpochScores(epoch, train_loss, float(loss), float(iou.mean()), accuracy=float(right.mean()),
                             hits=float((right & (iou >= metrics.HIT_IOU)).mean()), cls_loss=float(cls),
                             box_loss=float(reg))
        extra = {"iou": iou, "pred_boxes": boxes.numpy(), "pred_labels": labels.numpy()}
    model.train()
    return scores, extra


def fit(cfg: BeyondConfig, job: BeyondJob | None = None) -> Outcome:
    """Train on `cfg.n_train` shapes with Adam, scoring the test set before training and after every epoch.
    With `job`: reports progress, appends each epoch's scores to `job.history`, and stops between batches."""
    start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    train, test = train_test(cfg.n_train, cfg.seed)
    model = _model(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    batches = math.ceil(cfg.n_train / cfg.batch)
    history: list[EpochScores] = []

    def record(scores: EpochScores) -> None:
        history.append(scores)
        if job is not None:
            with job._lock:
                job.history.append(scores)

    first, extra = evaluate(cfg, model, test, 0, math.nan)
    record(first)
    done = 0
    for epoch in range(1, cfg.epochs + 1):
        order, total = torch.randperm(cfg.n_train, generator=gen), 0.0
        stopped = False
        for b in range(batches):
            if job is not None and not job.checkpoint():
                stopped = True
                break
            i = order[b * cfg.batch:(b + 1) * cfg.batch]
            loss, _, _ = _losses(cfg, model, train.x[i], train.labels[i], train.masks[i], train.boxes[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(i)
            if job is not None:
                job.report(((epoch - 1) * batches + b + 1) / (cfg.epochs * batches))
        if stopped:
            break
        scores, extra = evaluate(cfg, model, test, epoch, total / cfg.n_train)
        record(scores)
        done = epoch
    return Outcome(cfg.task, test, history=history, seconds=time.perf_counter() - start, epochs=done, model=model.eval(),
                   **extra)


class BeyondJob(Job):
    """One `fit(cfg)` in the engine (its queue, its capacity, the tab's lifetime). `history` grows by one
    EpochScores per epoch while it runs; `result` is the Outcome."""

    kind = "beyond"

    def __init__(self, cfg: BeyondConfig, owner: str | None = None, threads: int = 0):
        super().__init__(cfg, owner, threads)
        self.history: list[EpochScores] = []

    def scores(self) -> list[EpochScores]:
        with self._lock:
            return list(self.history)

    def progress(self) -> Progress:
        with self._lock:
            epoch = max(0, len(self.history) - 1)
        return self._timed(Progress(fraction=self._fraction, epoch=epoch, epochs=self.config.epochs))

    def _work(self) -> None:
        self.result = fit(self.config, self)
