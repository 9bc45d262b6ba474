"""Command line: `python -m labcore train ...`, `python -m labcore bench overhead --json`, `python -m labcore list`."""

from __future__ import annotations

import argparse
import json
import sys
import time

from labcore.bench import BENCHMARKS
from labcore.config import AugmentConfig, DataConfig, RunConfig, TrainConfig
from labcore.data import DATASETS, load_dataset
from labcore.i18n import LabError
from labcore.models import MODELS, default_config
from labcore.train.optimizers import OPTIMIZERS, optimizer_config
from labcore.train.schedules import SCHEDULES
from labcore.train.trainer import Callback, Diverged, EarlyStopping, Trainer

# The optimizer options a run can set; each becomes a --flag (default: the optimizer's own, from its registry).
OPTIM_FLAGS = {
    "lr": "learning rate",
    "momentum": "SGD momentum (momentum, nesterov)",
    "beta1": "first-moment decay (Adam, AdamW, Lion)",
    "beta2": "second-moment decay (Adam, AdamW; Lion's update interpolation)",
    "alpha": "RMSProp smoothing constant",
    "eps": "denominator term (Adagrad, RMSProp, Adam, AdamW)",
    "weight_decay": "weight decay (decoupled for AdamW and Lion, L2 for the others)",
}


class _ProgressBar(Callback):
    """One line on stderr, rewritten in place: epoch, step, loss, validation accuracy, speed."""

    def __init__(self, stream=sys.stderr):
        self.stream, self.last = stream, 0.0
        self.val = ""

    def on_batch_end(self, trainer: Trainer, logs: dict) -> None:
        now = time.perf_counter()
        if now - self.last < 0.1 or "loss" not in logs:
            return
        self.last = now
        done = trainer.step / trainer.total_steps
        bar = "#" * int(30 * done) + "-" * (30 - int(30 * done))
        self.stream.write(f"\r[{bar}] epoch {trainer.epoch}/{trainer.cfg.train.epochs} "
                          f"step {trainer.step}/{trainer.total_steps} loss {logs['loss']:.4f}{self.val}  ")
        self.stream.flush()

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        score = f"val_loss {logs['val_loss']:.4f}" if trainer.regression else f"val_acc {logs['val_acc']:.3f}"
        self.val = f" {score} ({logs['samples_per_s']:.0f} samples/s)"

    def on_fit_end(self, trainer: Trainer, logs: dict) -> None:
        self.stream.write("\n")


def _config(a: argparse.Namespace) -> RunConfig:
    model = default_config(a.model)
    for field in ("depth", "width", "activation", "dropout"):
        if getattr(a, field) is not None:
            model = model.__class__(**{**model.__dict__, field: getattr(a, field)})
    # The optimizer registry's defaults (as on the page), then every option given on the command line.
    given = {f: getattr(a, f) for f in OPTIM_FLAGS if getattr(a, f) is not None}
    return RunConfig(
        data=DataConfig(name=a.data, seed=a.seed),
        model=model,
        optim=optimizer_config(a.optimizer, schedule=a.schedule, clip_norm=a.clip_norm, **given),
        augment=AugmentConfig(rotation=a.rotation, hflip=a.hflip, noise_std=a.noise),
        train=TrainConfig(epochs=a.epochs, batch_size=a.batch_size, seed=a.seed, patience=a.patience,
                          amp=a.amp, device=a.device),
    )


def train(a: argparse.Namespace) -> int:
    cfg = _config(a)
    data = load_dataset(cfg.data)
    callbacks: list[Callback] = [] if a.json or a.quiet else [_ProgressBar()]
    if cfg.train.patience:
        callbacks.append(EarlyStopping(cfg.train.patience))
    trainer = Trainer(cfg, data, callbacks=callbacks)
    status = "finished"
    t0 = time.perf_counter()
    try:
        result = trainer.fit()
        epochs = result.epochs_done
    except Diverged as e:
        status, epochs = "diverged", trainer.epoch
        trainer.restore_best()
        print(LabError("train.diverged", step=e.step, lr=cfg.optim.lr).message(), file=sys.stderr)
    seconds = time.perf_counter() - t0
    test_loss, test_acc = trainer.evaluate(data.x_test, data.y_test)
    last = trainer.log.epochs[-1] if trainer.log.epochs else {}
    test_acc = None if trainer.regression else test_acc  # forecasts have a loss (MSE) but no accuracy: JSON null
    out = {"status": status, "test_accuracy": test_acc, "test_loss": test_loss, "epochs": epochs,
           "seconds": seconds, "val_accuracy": last.get("val_acc"), "best_epoch": trainer.best_epoch,
           "device": str(trainer.device), "config": cfg.to_dict()}
    if a.json:
        print(json.dumps(out))
    else:
        score = f"test MSE {test_loss:.4f}" if test_acc is None else f"test accuracy {test_acc:.4f} (loss {test_loss:.4f})"
        print(f"{status}: {score} after {epochs} epochs in {seconds:.1f} s on {trainer.device}")
    return 0 if status == "finished" else 1


def bench(a: argparse.Namespace) -> int:
    options = {"repeats": a.repeats} if a.repeats else {}
    if a.name == "load":
        options = {"sessions": a.sessions}
    result = BENCHMARKS[a.name](**options)
    print(json.dumps(result) if a.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


def list_all(a: argparse.Namespace) -> int:
    for title, names in (("datasets", DATASETS.names()), ("models", MODELS.names()),
                         ("optimizers", OPTIMIZERS.names()), ("schedules", SCHEDULES.names())):
        print(f"{title}: {', '.join(names)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="labcore", description="Deep Learning Visual Lab, headless.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one model and report test accuracy")
    t.add_argument("--data", default="digits", choices=DATASETS.names())
    t.add_argument("--model", default="cnn", choices=MODELS.names())
    t.add_argument("--optimizer", default="adam", choices=OPTIMIZERS.names())
    for flag in OPTIM_FLAGS:  # one flag per optimizer option; unset: the optimizer's own default
        t.add_argument(f"--{flag.replace('_', '-')}", type=float, default=None, help=OPTIM_FLAGS[flag])
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--schedule", default="constant", choices=SCHEDULES.names())
    t.add_argument("--clip-norm", type=float, default=0.0)
    t.add_argument("--patience", type=int, default=0, help="early stopping patience in epochs (0: off)")
    t.add_argument("--depth", type=int)
    t.add_argument("--width", type=int)
    t.add_argument("--activation")
    t.add_argument("--dropout", type=float)
    t.add_argument("--rotation", type=float, default=0.0, help="augmentation: random rotation +- degrees")
    t.add_argument("--hflip", action="store_true", help="augmentation: random horizontal flips")
    t.add_argument("--noise", type=float, default=0.0, help="augmentation: Gaussian noise std")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu or cuda")
    t.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=train)

    b = sub.add_parser("bench", help="benchmarks, as ratios against a baseline from the same run")
    b.add_argument("name", choices=sorted(BENCHMARKS))
    b.add_argument("--repeats", type=int, default=None, help="default: each benchmark's own")
    b.add_argument("--sessions", type=int, default=30, help="load: how many sessions press Train at once")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=bench)

    sub.add_parser("list", help="registered datasets, models, optimizers, schedules").set_defaults(func=list_all)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return a.func(a)
    except LabError as e:
        print(e.message(), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
