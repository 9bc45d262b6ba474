"""What a link may set on each page: one schema per page (labcore.share.Param), with exactly the choices and
ranges the page's widgets offer, so a hand-edited link can never put a page somewhere its UI cannot go
(issue 20: no `train.step_delay` of a day, no `train.num_threads`).

`read(page, query)` -> (values, ignored names); `write(page, values)` -> the query naming what differs
from the defaults. The widget lists the pages draw (learning rates, batch sizes...) live here too, so the
page and its link cannot drift apart. The schema of every page is written out in /tmp/lab-coord/links.md.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from labcore import share
from labcore.config import RunConfig
from labcore.data import DATASETS, dataset_info
from labcore.i18n import DEFAULT_LANG, languages
from labcore.models import ACTIVATIONS, INITS, MODELS, SEQUENCE_KINDS, default_config, models_for
from labcore.share import Param
from labcore.train.optimizers import OPTIMIZERS, optimizer_config
from labcore.train.schedules import SCHEDULES

GLOBALS = ("lang", "present")

# -- Train (labcore.config.RunConfig; names are its dotted fields, defaults RunConfig()'s, an optimizer's own) --
LEARNING_RATES = [round(m * 10.0**e, 8) for e in range(-5, 2) for m in (1, 2, 5)] + [100.0]
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512]
WIDTHS = [4, 8, 16, 32, 64, 128, 256]
STEP_DELAYS = (0.0, 0.005, 0.02, 0.05)  # seconds per batch: slow motion for a class to watch (a small run takes 1 s)
KERNELS = [1, 3, 5, 7]
WEIGHT_DECAYS = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.1]
CLIP_NORMS = [0.0, 0.1, 0.5, 1.0, 5.0]
POOLINGS = ["max", "avg", "none"]
IMAGE_SIZES = [32, 64]
# Slider ranges (low, high, step) of the Train sidebar.
TRAIN_RANGES: dict[str, tuple[float, float, float]] = {
    "noise": (0.0, 0.5, 0.01), "n_samples": (100, 2000, 100), "depth": (1, 6, 1), "dropout": (0.0, 0.8, 0.05),
    "momentum": (0.0, 0.99, 0.01), "beta1": (0.0, 0.999, 0.001), "beta2": (0.9, 0.9999, 0.0001),
    "alpha": (0.5, 0.999, 0.001), "gamma.step": (0.1, 0.9, 0.05), "gamma.exponential": (0.8, 0.999, 0.001),
    "rotation": (0.0, 45.0, 5.0), "crop_scale": (0.5, 1.0, 0.05), "color_jitter": (0.0, 0.5, 0.05),
    "noise_std.image": (0.0, 0.3, 0.01), "noise_std.other": (0.0, 0.5, 0.01), "epochs": (1, 100, 1),
    "seed": (0, 10_000, 1), "patience": (0, 20, 1),
}


def train_datasets() -> list[str]:
    """Token sequences and time series have their own pages (Sequences, Attention)."""
    return [n for n in DATASETS.names() if dataset_info(n).kind not in SEQUENCE_KINDS]


def _range(name: str, default: Any, key: str, ranges: Mapping[str, tuple] = TRAIN_RANGES) -> Param:
    lo, hi, step = ranges[key]
    return Param(name, default, lo=lo, hi=hi, step=step)


def train(v: Mapping[str, Any], cuda: bool = False) -> Iterator[Param]:
    base = RunConfig()
    yield Param("data.name", base.data.name, choices=tuple(train_datasets()))
    info = dataset_info(v["data.name"])
    if info.kind == "points":  # RunConfig's "the dataset's own" (-1, 0) is what the sidebar shows as 0.1, 600
        yield _range("data.noise", 0.1, "noise")
        yield _range("data.n_samples", 600, "n_samples")
    elif v["data.name"] == "shapes":
        yield Param("data.image_size", base.data.image_size, choices=tuple(IMAGE_SIZES))
    yield Param("model.name", base.model.name, choices=tuple(models_for(info)))
    options, m = MODELS.get(v["model.name"]).options, base.model
    if "depth" in options:
        yield _range("model.depth", m.depth, "depth")
    if "width" in options:
        yield Param("model.width", m.width, choices=tuple(WIDTHS))
    if "kernel_size" in options:
        yield Param("model.kernel_size", m.kernel_size, choices=tuple(KERNELS))
    if "pooling" in options:
        yield Param("model.pooling", m.pooling, choices=tuple(POOLINGS))
    if "activation" in options:
        yield Param("model.activation", m.activation, choices=tuple(ACTIVATIONS))
    if "init" in options:
        yield Param("model.init", m.init, choices=tuple(INITS))
    if "batch_norm" in options:
        yield Param("model.batch_norm", m.batch_norm)
    if "layer_norm" in options:
        yield Param("model.layer_norm", m.layer_norm)
    if "dropout" in options:
        yield _range("model.dropout", m.dropout, "dropout")
    t = base.train
    yield Param("train.batch_size", t.batch_size, choices=tuple(BATCH_SIZES))
    yield _range("train.epochs", t.epochs, "epochs")
    yield _range("train.seed", t.seed, "seed")
    yield _range("train.patience", t.patience, "patience")
    yield Param("train.restore_best", t.restore_best)
    yield Param("train.step_delay", t.step_delay, choices=STEP_DELAYS)  # slow motion, as the sidebar offers it
    if cuda:  # the mixed-precision switch is disabled without a GPU
        yield Param("train.amp", t.amp)
    yield Param("optim.name", base.optim.name, choices=tuple(OPTIMIZERS.names()))
    o = optimizer_config(v["optim.name"])  # each optimizer's own starting values, as the sidebar's
    optim_options = OPTIMIZERS.get(v["optim.name"]).options
    yield Param("optim.lr", o.lr, choices=tuple(LEARNING_RATES))
    for field in ("momentum", "beta1", "beta2", "alpha"):
        if field in optim_options or (field == "beta2" and "beta1" in optim_options):
            yield _range(f"optim.{field}", getattr(o, field), field)
    yield Param("optim.weight_decay", o.weight_decay, choices=tuple(WEIGHT_DECAYS))
    yield Param("optim.clip_norm", o.clip_norm, choices=tuple(CLIP_NORMS))
    yield Param("optim.schedule", o.schedule, choices=tuple(SCHEDULES.names()))
    schedule, epochs = v["optim.schedule"], v["train.epochs"]
    if schedule not in ("constant", "one_cycle"):
        yield Param("optim.warmup_epochs", o.warmup_epochs, lo=0.0, hi=float(max(1, epochs // 2)), step=0.5)
    if schedule == "step":
        yield Param("optim.step_epochs", o.step_epochs, lo=1, hi=max(2, epochs), step=1)
    if schedule in ("step", "exponential"):  # the sidebar's own starting values: 0.5 per step, 0.98 per epoch
        yield _range("optim.gamma", o.gamma if schedule == "step" else 0.98, f"gamma.{schedule}")
    a = base.augment
    if info.kind == "image":
        yield Param("augment.hflip", a.hflip)
        yield _range("augment.rotation", a.rotation, "rotation")
        yield _range("augment.crop_scale", a.crop_scale, "crop_scale")
        yield _range("augment.color_jitter", a.color_jitter, "color_jitter")
        yield _range("augment.noise_std", a.noise_std, "noise_std.image")
    else:
        yield _range("augment.noise_std", a.noise_std, "noise_std.other")


def train_config(values: Mapping[str, Any]) -> RunConfig:
    """The Train setup `values` describe, on top of RunConfig()'s defaults."""
    groups: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        group, field = name.split(".", 1)
        groups.setdefault(group, {})[field] = value
    return RunConfig().with_(**groups)


def train_values(cfg: RunConfig) -> dict[str, Any]:
    return {f"{group}.{field}": value for group, part in cfg.to_dict().items() for field, value in part.items()}


# -- Optimizer playground (labcore.playground.share's format: surface, on, x, y, steps, <opt>.<option>, eta) -----
def playground(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.playground.config import RANGES, STEPS_RANGE, default_config, start_step
    from labcore.playground.share import CHOICES
    from labcore.playground.surfaces import SURFACES

    yield Param("surface", default_config().surface, choices=tuple(SURFACES.names()), always=True)
    base = default_config(v["surface"])
    x0, x1, y0, y1 = SURFACES.get(base.surface).box
    dx, dy = start_step(base.surface)
    yield Param("x", base.start[0], lo=x0, hi=x1)
    yield Param("y", base.start[1], lo=y0, hi=y1)
    yield Param("steps", base.steps, lo=STEPS_RANGE[0], hi=STEPS_RANGE[1], step=STEPS_RANGE[2])
    yield Param("on", tuple(s.name for s in base.enabled()), choices=tuple(OPTIMIZERS.names()), many=True)
    for s in base.optimizers:
        for option in s.options():
            default = getattr(s.config, option)
            if option in CHOICES:
                yield Param(f"{s.name}.{option}", default, choices=CHOICES[option])
            else:
                lo, hi, step = RANGES[option]
                yield Param(f"{s.name}.{option}", default, lo=lo, hi=hi, step=step)
        if s.name == "adam":
            yield Param("adam.bias_correction", s.bias_correction)
    lo, hi, step = RANGES["book_lr"]
    yield Param("eta", base.book_lr, lo=lo, hi=hi, step=step)


def playground_config(values: Mapping[str, Any]):
    from labcore.playground.share import from_fields

    on = set(values["on"])
    fields = {k: v for k, v in values.items() if k != "on"}
    fields.update({f"{name}.on": name in on for name in OPTIMIZERS.names()})
    return from_fields(fields)


def playground_values(cfg) -> dict[str, Any]:
    from labcore.playground.share import to_fields

    values = {k: v for k, v in to_fields(cfg).items() if not k.endswith(".on")}
    values["on"] = tuple(s.name for s in cfg.enabled())
    return values


# -- Optimizer race (labcore.train.race_setup's format: data, model, train.*, target, cN, cN.<field>, cN.batch) ----
RACE_WEIGHT_DECAYS = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.03, 0.05, 0.1]
RACE_LEARNING_RATES = sorted({*LEARNING_RATES, 3e-4})  # 3e-4: the Lion preset's rate
RACE_RANGES: dict[str, tuple[float, float, float]] = {
    "epochs": (1, 50, 1), "seed": (0, 10_000, 1), "target": (0.5, 1.0, 0.01), "momentum": (0.0, 0.99, 0.01),
    "beta1": (0.0, 0.999, 0.001), "beta2": (0.9, 0.9999, 0.0001), "alpha": (0.5, 0.999, 0.001),
}
RACE_OPTIONS = ("lr", "momentum", "beta1", "beta2", "alpha", "weight_decay", "schedule")


def race(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.train.race import MAX_CONTENDERS, RaceConfig, optimizer_defaults, race_models

    base = RaceConfig()
    yield Param("data", base.data.name, choices=tuple(train_datasets()), always=True)
    yield Param("model", base.model.name, choices=tuple(race_models(dataset_info(v["data"]))), always=True)
    yield _range("train.epochs", base.train.epochs, "epochs", RACE_RANGES)
    yield Param("train.batch_size", base.train.batch_size, choices=tuple(BATCH_SIZES))
    yield _range("train.seed", base.train.seed, "seed", RACE_RANGES)
    yield _range("target", base.target_acc, "target", RACE_RANGES)
    for i in range(1, MAX_CONTENDERS + 1):
        yield Param(f"c{i}", None, choices=tuple(OPTIMIZERS.names()))
        name = v.get(f"c{i}")
        if name is None:
            continue
        d, options = optimizer_defaults(name), OPTIMIZERS.get(name).options
        yield Param(f"c{i}.lr", d.lr, choices=tuple(RACE_LEARNING_RATES))
        for field in ("momentum", "beta1", "beta2", "alpha"):
            if field in options or (field == "beta2" and "beta1" in options):
                yield _range(f"c{i}.{field}", getattr(d, field), field, RACE_RANGES)
        yield Param(f"c{i}.weight_decay", d.weight_decay, choices=tuple(RACE_WEIGHT_DECAYS))
        yield Param(f"c{i}.schedule", d.schedule, choices=tuple(SCHEDULES.names()))
        yield Param(f"c{i}.batch", 0, choices=(0, *BATCH_SIZES))


def race_config(values: Mapping[str, Any]):
    """The race `values` describe; without contenders, the default race's (Adam, SGD, RMSProp)."""
    from labcore.config import DataConfig
    from labcore.train.race import MAX_CONTENDERS, Contender, RaceConfig, optimizer_defaults
    from labcore.train.race_setup import preset

    contenders = []
    for i in range(1, MAX_CONTENDERS + 1):
        name = values.get(f"c{i}")
        if name is not None:
            optim = optimizer_defaults(name, **{f: values[f"c{i}.{f}"] for f in RACE_OPTIONS if f"c{i}.{f}" in values})
            contenders.append(Contender(optim, int(values[f"c{i}.batch"])))
    base = RaceConfig()
    train = replace(base.train, epochs=values["train.epochs"], batch_size=values["train.batch_size"],
                    seed=values["train.seed"])
    return RaceConfig(data=DataConfig(name=values["data"]), model=default_config(values["model"]), train=train,
                      contenders=tuple(contenders) or preset("optimizers").contenders, target_acc=values["target"])


def race_values(cfg) -> dict[str, Any]:
    from labcore.train.race import MAX_CONTENDERS

    values: dict[str, Any] = {"data": cfg.data.name, "model": cfg.model.name, "train.epochs": cfg.train.epochs,
                              "train.batch_size": cfg.train.batch_size, "train.seed": cfg.train.seed,
                              "target": cfg.target_acc}
    for i in range(1, MAX_CONTENDERS + 1):
        values[f"c{i}"] = None
    for i, c in enumerate(cfg.contenders, 1):
        values[f"c{i}"] = c.optim.name
        values |= {f"c{i}.{f}": getattr(c.optim, f) for f in RACE_OPTIONS}
        values[f"c{i}.batch"] = c.batch_size
    return values


def _race_needs_two(values: dict[str, Any], ignored: list[str], query: Mapping[str, Any]) -> None:
    """A link naming a single contender cannot race: its contender is dropped (it and its settings are
    named), the default race's contenders stand in."""
    from labcore.train.race import MIN_CONTENDERS

    named = [k for k, v in values.items() if k[:1] == "c" and k[1:].isdigit() and v is not None]
    if 0 < len(named) < MIN_CONTENDERS:
        dropped = [k for k in query if k in named or k.split(".", 1)[0] in named]
        ignored += [k for k in dict.fromkeys(named + dropped) if k not in ignored]
        for k in named:
            values[k] = None


# -- Explain (no config dataclass: one name per widget) ----------------------------------------------------------
EPSILONS = [0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.2]
TV_WEIGHTS = [0.0, 0.002, 0.005, 0.01, 0.02, 0.05]
L2_WEIGHTS = [0.0, 0.001, 0.01, 0.05]
IDEAL_LRS = [0.01, 0.02, 0.05, 0.1]
TABULAR = ("breast_cancer", "wine")


def explain(v: Mapping[str, Any], n_test: int = 1, n_classes: int = 1) -> Iterator[Param]:
    """`n_test`, `n_classes`: the picked model's test set and classes (the index and class pickers' ranges)."""
    classes = tuple(range(n_classes))
    yield Param("source", "test", choices=("test", "upload"))
    yield Param("index", 0, lo=0, hi=max(0, n_test - 1), step=1)
    yield Param("target", "predicted", choices=("predicted", "true", *(f"class:{i}" for i in classes)))
    yield Param("attack", "pgd", choices=("fgsm", "pgd"))
    yield Param("goal", "untargeted", choices=("untargeted", *classes))
    yield Param("eps", 0.02, choices=tuple(EPSILONS))
    yield Param("attack_steps", 20, lo=5, hi=100, step=1)
    yield Param("ideal_class", 0, choices=classes)
    yield Param("tv", 0.01, choices=tuple(TV_WEIGHTS))
    yield Param("l2", 0.01, choices=tuple(L2_WEIGHTS))
    yield Param("jitter", 1, lo=0, hi=4, step=1)
    yield Param("ideal_steps", 150, lo=20, hi=400, step=10)
    yield Param("ideal_lr", 0.05, choices=tuple(IDEAL_LRS))
    yield Param("shap_data", TABULAR[0], choices=TABULAR)


# -- Transfer learning (labcore.transfer.job.TransferConfig's fields) --------------------------------------------
TRANSFER_LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1]
TRANSFER_FACTORS = [0.01, 0.03, 0.1, 0.3, 1.0]
TRANSFER_BATCHES = [8, 16, 32, 64, 128]
TRANSFER_SIZES = [16, 24, 32, 48, 64, 96, 128, 160, 224]
UPLOAD = "upload"  # the target "your own images"


@functools.cache
def transfer_blocks(backbone: str) -> int:
    """How many blocks the backbone has (the unfreeze slider's maximum)."""
    from labcore.transfer.backbones import BACKBONES

    return len(BACKBONES.get(backbone).build()[2])


def transfer(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.transfer.backbones import BACKBONES
    from labcore.transfer.job import TransferConfig
    from labcore.transfer.strategies import STRATEGIES
    from labcore.transfer.targets import LABELS_PER_CLASS, TARGETS

    base = TransferConfig()
    yield Param("target", base.target, choices=(*TARGETS.names(), UPLOAD))
    yield Param("labels_per_class", base.labels_per_class, choices=tuple(LABELS_PER_CLASS))
    suits = base.backbone if v["target"] == UPLOAD else TARGETS.get(v["target"]).backbone
    yield Param("backbone", suits, choices=tuple(BACKBONES.names()))
    if BACKBONES.get(v["backbone"]).torchvision:
        yield Param("image_size", 64, choices=tuple(TRANSFER_SIZES))
    yield Param("strategies", tuple(STRATEGIES), choices=tuple(STRATEGIES), many=True)
    yield Param("unfreeze", base.unfreeze, lo=1, hi=transfer_blocks(v["backbone"]), step=1)
    yield Param("gradual", base.gradual)
    yield Param("lr", base.lr, choices=tuple(TRANSFER_LRS))
    yield Param("backbone_lr_factor", base.backbone_lr_factor, choices=tuple(TRANSFER_FACTORS))
    yield Param("scratch_lr", base.scratch_lr, choices=tuple(TRANSFER_LRS))
    yield Param("train.epochs", base.train.epochs, lo=1, hi=100, step=1)
    yield Param("train.batch_size", base.train.batch_size, choices=tuple(TRANSFER_BATCHES))
    yield Param("train.seed", base.train.seed, lo=0, hi=10_000, step=1)


# -- Try it --------------------------------------------------------------------------------------------------
def try_it(v: Mapping[str, Any]) -> Iterator[Param]:
    yield Param("source", "upload", choices=("upload", "camera", "drawing"))


# -- Sequences -------------------------------------------------------------------------------------------------
SEQUENCE_MODELS = ["rnn", "gru", "lstm", "conv1d", "transformer"]


def sequences(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.data.sequences import MAX_SEQ_LEN, SERIES

    series = tuple(SERIES)
    yield Param("forecast.series", series[0], choices=series)
    natural = dataset_info(v["forecast.series"]).input_shape[1]  # each series' own window
    yield Param("forecast.window", natural, lo=4, hi=MAX_SEQ_LEN, step=1)
    yield Param("forecast.horizon", 1, lo=1, hi=12, step=1)
    yield Param("forecast.models", ("lstm", "conv1d"), choices=tuple(SEQUENCE_MODELS), many=True)
    yield Param("forecast.epochs", 30, lo=1, hi=100, step=1)
    yield Param("forecast.bidirectional", False)
    yield Param("memory.length", 40, lo=5, hi=MAX_SEQ_LEN, step=1)
    yield Param("memory.distractors", 0.0, lo=0.0, hi=0.5, step=0.05)
    yield Param("memory.epochs", 15, lo=1, hi=60, step=1)
    yield Param("memory.models", ("rnn", "lstm"), choices=tuple(SEQUENCE_MODELS), many=True)


# -- Attention -------------------------------------------------------------------------------------------------
TEXT_SETS, IMAGE_SETS = ["agreement", "recall"], ["digits", "shapes"]
HEADS, VIT_WIDTHS = [1, 2, 4], [16, 32, 64]
ATTENTION_PANELS, PE_DIMS = ("text", "vit", "positions"), (8, 16, 32, 64, 128)
PE_LENGTH, PE_EPOCHS = (4, 128), (1, 40)  # the positions tab's sliders: encoding length, epochs of the experiment


def attention(v: Mapping[str, Any]) -> Iterator[Param]:
    yield Param("panel", ATTENTION_PANELS[0], choices=ATTENTION_PANELS)
    yield Param("text.data", TEXT_SETS[0], choices=tuple(TEXT_SETS))
    yield Param("text.layers", 2, lo=1, hi=3, step=1)
    yield Param("text.heads", 2, choices=tuple(HEADS))
    yield Param("text.epochs", 12, lo=1, hi=40, step=1)
    yield Param("vit.data", IMAGE_SETS[0], choices=tuple(IMAGE_SETS))
    yield Param("vit.epochs", 25, lo=1, hi=40, step=1)
    yield Param("vit.width", 64, choices=tuple(VIT_WIDTHS))
    yield Param("pe.dim", 32, choices=PE_DIMS)  # the positions tab: the sinusoidal encoding's size and length
    yield Param("pe.length", 32, lo=PE_LENGTH[0], hi=PE_LENGTH[1], step=1)
    yield Param("pe.epochs", 12, lo=PE_EPOCHS[0], hi=PE_EPOCHS[1], step=1)  # with / without positions, on the agreement task


# -- Autoencoders (labcore.autoencoders.AEConfig's fields; defaults are the page's) ------------------------------
AE_WIDTHS = [32, 64, 128, 256]
AE_BETAS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
AE_LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0, 10.0]


def ae_datasets() -> list[str]:
    return [n for n in DATASETS.names() if dataset_info(n).kind == "image"]


def autoencoders(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.autoencoders import AUTOENCODERS
    from labcore.autoencoders.models import is_variational

    yield Param("data.name", "digits", choices=tuple(ae_datasets()))
    yield Param("model", "dense", choices=tuple(AUTOENCODERS.names()))
    yield Param("latent_dim", 2, lo=2, hi=32, step=1)
    yield Param("width", 128, choices=tuple(AE_WIDTHS))
    yield Param("noise", 0.0, lo=0.0, hi=0.6, step=0.05)
    if is_variational(v["model"]):
        yield Param("beta", 0.3, choices=tuple(AE_BETAS))
    yield Param("train.epochs", 60, lo=5, hi=300, step=1)
    yield Param("lr", 1e-3, choices=tuple(AE_LRS))
    yield Param("train.batch_size", 64, choices=tuple(BATCH_SIZES))
    yield Param("train.seed", 0, lo=0, hi=10_000, step=1)
    n = len(dataset_info(v["data.name"]).class_names)
    yield Param("holdout", (), choices=tuple(range(n)), many=True, most=n - 1)


# -- Neurons and losses (lessons 2 and 3, labcore.basics; one name per widget, grouped by panel) --------------------
NEURON_PANELS = ("perceptron", "activations", "depth", "approximation", "losses", "backprop", "mlvsdl")
NEURON_RANGES: dict[str, tuple[float, float, float]] = {
    "weight": (-3.0, 3.0, 0.1), "x": (-6.0, 6.0, 0.1), "layers": (1, 6, 1), "yhat": (0.01, 0.99, 0.01),
    "logit": (-5.0, 5.0, 0.1), "input": (-2.0, 2.0, 0.1), "seed": (0, 99, 1), "step": (0, 15, 1),
    "ml_seed": (0, 9, 1), "ml_index": (0, 29, 1), "loop_step": (0, 20, 1),  # lesson 1, the "ML vs DL" tab
}


def neurons(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.basics import approximation as approx
    from labcore.basics import mlvsdl
    from labcore.basics.backprop import HIDDEN
    from labcore.basics.neurons import ACTIVATIONS

    def r(name: str, default: Any, key: str) -> Param:
        return _range(name, default, key, NEURON_RANGES)

    yield Param("panel", NEURON_PANELS[0], choices=NEURON_PANELS)
    yield r("perceptron.w1", 1.0, "weight")
    yield r("perceptron.w2", 2.0, "weight")
    yield r("perceptron.b", -1.0, "weight")
    yield Param("perceptron.phi", "sigmoid", choices=("sigmoid", "step"))
    yield Param("act.name", "sigmoid", choices=ACTIVATIONS)
    yield r("act.x", 0.0, "x")
    yield r("depth.layers", 3, "layers")
    yield Param("depth.relu", False)
    yield Param("approx.target", "wiggle", choices=approx.TARGETS)
    yield Param("approx.width", 4, choices=approx.WIDTHS)
    yield Param("approx.act", "tanh", choices=tuple(approx.ACTIVATIONS))
    yield Param("approx.deep", False)
    yield Param("approx.points", approx.DEFAULT_POINTS)
    yield r("loss.yhat", 0.8, "yhat")
    yield Param("loss.y", 1, choices=(0, 1))
    for k, z in enumerate((2.0, 1.0, -1.0), 1):
        yield r(f"ce.z{k}", z, "logit")
    yield Param("ce.true", 0, choices=(0, 1, 2))
    yield r("bp.x1", 1.0, "input")
    yield r("bp.x2", -0.5, "input")
    yield Param("bp.y", 1, choices=(0, 1))
    yield Param("bp.hidden", HIDDEN[0], choices=HIDDEN)
    yield r("bp.seed", 0, "seed")
    yield r("bp.step", 0, "step")
    yield Param("ml.data", "shapes", choices=mlvsdl.DATASETS)
    yield r("ml.seed", 0, "ml_seed")
    yield r("ml.index", 0, "ml_index")
    yield Param("loop.lr", 0.5, choices=mlvsdl.LOOP_LRS)
    yield r("loop.step", 0, "loop_step")
    yield Param("loop.stage", mlvsdl.LOOP_STAGES[0], choices=mlvsdl.LOOP_STAGES)


def neurons_names() -> list[str]:
    return [p.name for p in neurons({})]


# -- Convolution (lessons 7 and 8, labcore.basics.convolution; one name per widget, grouped by tab) -------------
def convolution(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.basics import convolution as cv
    from labcore.train.compare import MLP_VS_CNN_DATA

    yield Param("source", cv.SOURCES[0], choices=cv.SOURCES)
    if v["source"] in cv.N_IMAGES:
        yield Param("index", 0, lo=0, hi=cv.N_IMAGES[v["source"]] - 1, step=1)
    yield Param("kernel", cv.DEFAULT_KERNEL, choices=cv.KERNEL_NAMES)
    if v["kernel"] == cv.CUSTOM:
        yield Param("custom", cv.DEFAULT_CUSTOM)
    if v["kernel"] == cv.TRAINED:  # which first-layer filter; the page clamps it to the filters the model has
        yield Param("filter", 0, lo=0, hi=255, step=1)
    yield Param("padding", False)
    n = cv.positions(v["source"], cv.kernel_size(v["kernel"], v.get("custom", cv.DEFAULT_CUSTOM)), v["padding"])
    if n > 1:  # the window's stop: the page draws its slider when the window stops in more than one place
        yield Param("pos", n // 2, lo=0, hi=n - 1, step=1)
    for name, (lo, hi, default) in cv.GRID.items():
        yield Param(f"grid.{name}", default, lo=lo, hi=hi, step=1)
    yield Param("pool", cv.POOL_SIZES[0], choices=cv.POOL_SIZES)
    yield Param("pool.relu", False)
    for name, (lo, hi, default) in cv.CALC.items():
        yield Param(f"calc.{name}", default, lo=lo, hi=hi, step=1)
    yield Param("calc.bias", False)
    yield Param("rf.data", "shapes", choices=("shapes", "digits"))
    most = 3 if v["rf.data"] == "digits" else 4  # 8x8 digits halve to 1x1 after three conv + pool blocks
    yield Param("rf.depth", 2, lo=1, hi=most, step=1)
    yield Param("rf.layer", 2 * v["rf.depth"], choices=tuple(range(1, 2 * v["rf.depth"] + 1)))
    yield Param("rf.index", 0, lo=0, hi=49, step=1)
    yield Param("mvc.data", MLP_VS_CNN_DATA[0], choices=MLP_VS_CNN_DATA)
    yield Param("mvc.epochs", 10, lo=1, hi=30, step=1)


# -- Training tricks (the seed lesson "tricks" and lesson 12, labcore.tricks; one name per widget, grouped by tab) ---
TRICKS_PANELS = ("init", "compare")


def tricks(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.tricks import init_explorer as ie
    from labcore.tricks.compare import COMPARISONS, FRACTIONS, SMALLEST
    from labcore.tricks.rotation import DIGITS

    lo, hi, step = ie.DEPTH_RANGE
    yield Param("panel", TRICKS_PANELS[0], choices=TRICKS_PANELS)
    yield Param("init.scheme", "xavier", choices=ie.INITS)
    yield Param("init.act", "tanh", choices=ie.ACTIVATIONS)
    yield Param("init.depth", 20, lo=lo, hi=hi, step=step)
    yield Param("init.width", 128, choices=ie.WIDTHS)
    yield Param("compare", COMPARISONS[0], choices=COMPARISONS)
    if v.get("compare") == "data_size":  # the smallest share of the training set
        yield Param("cmp.fraction", SMALLEST, choices=FRACTIONS)
    if v.get("compare") == "rotation":  # the test digits turned once the race is over
        yield Param("cmp.digit", DIGITS[0], choices=DIGITS)


def tricks_names() -> list[str]:
    return [p.name for p in tricks({})] + ["cmp.fraction", "cmp.digit"]  # and those of one comparison each


# -- Evaluation (lessons 5 and 22, labcore.evaluation; one name per widget, grouped by tab) ------------------------
EVALUATION_PANELS = ("threshold", "calibration", "compare", "regression", "tables", "upload")
EVALUATION_RANGES: dict[str, tuple[float, float, float]] = {"threshold": (0.01, 0.99, 0.01), "prevalence": (1, 50, 1)}


def evaluation(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.evaluation.calibration import BINS
    from labcore.evaluation.models import BINARY, DATASETS, STEP_CHOICES
    from labcore.evaluation.regression import DATASETS as REG_DATASETS
    from labcore.evaluation.regression import LOSSES, OUTLIER_MAX
    from labcore.evaluation.tables import ENCODINGS, TABLES

    yield Param("panel", EVALUATION_PANELS[0], choices=EVALUATION_PANELS)
    info = dataset_info(BINARY)
    yield Param("positive", info.class_names[info.positive or 0], choices=tuple(info.class_names))
    yield _range("threshold", 0.5, "threshold", EVALUATION_RANGES)
    yield _range("prevalence", 10, "prevalence", EVALUATION_RANGES)
    yield Param("cal.data", "digits", choices=DATASETS)
    yield Param("cal.steps", 300, choices=STEP_CHOICES)
    yield Param("cal.bins", 10, choices=BINS)
    yield Param("cal.decay", False)
    yield Param("cmp.data", BINARY, choices=DATASETS)
    yield from _evaluation_explain(v.get("cmp.data", BINARY))
    yield Param("reg.data", REG_DATASETS[0], choices=REG_DATASETS)
    yield Param("reg.loss", LOSSES[0], choices=LOSSES)
    yield Param("reg.outliers", 0, lo=0, hi=OUTLIER_MAX, step=1)
    yield Param("tbl.data", TABLES[0], choices=TABLES)
    yield Param("tbl.encoding", ENCODINGS[0], choices=ENCODINGS)


def _evaluation_explain(data: str) -> Iterator[Param]:
    """The compare tab's SHAP and twin-column widgets (app.evaluation_explain); their choices follow the table."""
    from labcore.evaluation import explanations as ex

    info = dataset_info(data)
    yield Param("shap", False)
    yield Param("shap.class", info.class_names[info.positive or 0], choices=tuple(info.class_names))
    yield Param("shap.row", 0, lo=0, hi=ex.explained_rows(data) - 1, step=1)
    if data in ex.TWIN_DATASETS:
        yield Param("twin.feature", ex.STRONGEST[data], choices=ex.columns(data))
        yield Param("twin", False)


def evaluation_names() -> list[str]:
    return [p.name for p in evaluation({})]


# -- Precision (lesson 18, labcore.precision; one name per widget) ---------------------------------------------
PRECISION_PANELS = ("formats", "scaling", "autocast")
PRECISION_SCALES = tuple(2**k for k in range(17))  # the static loss scale: 1 .. 65536


def precision(v: Mapping[str, Any]) -> Iterator[Param]:
    yield Param("panel", PRECISION_PANELS[0], choices=PRECISION_PANELS)
    yield Param("number", "0.1")  # free text: the page says what is wrong with text that is not a finite number
    yield Param("scale", 1, choices=PRECISION_SCALES)


def precision_names() -> list[str]:
    return [p.name for p in precision({})]


# -- Run history (issue 17, labcore.tracking; the table's filters) ---------------------------------------------
RUN_LIMIT = (10, 1000, 10)  # how many of the newest matching runs the table lists: (low, high, step)


def runs(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.autoencoders import AUTOENCODERS
    from labcore.tracking import PAGES as TRACKED
    from labcore.transfer.backbones import BACKBONES
    from labcore.transfer.targets import TARGETS

    yield Param("pages", (), choices=TRACKED, many=True)  # an empty filter: every run
    # Transfer runs name their target and backbone, Autoencoders runs their autoencoder, in the same columns.
    yield Param("data", (), choices=(*DATASETS.names(), *TARGETS.names(), UPLOAD), many=True)
    yield Param("model", (), choices=(*MODELS.names(), *AUTOENCODERS.names(), *BACKBONES.names()), many=True)
    yield Param("optim", (), choices=tuple(OPTIMIZERS.names()), many=True)
    lo, hi, step = RUN_LIMIT
    yield Param("limit", 100, lo=lo, hi=hi, step=step)


def runs_names() -> list[str]:
    return [p.name for p in runs({})]


# -- Sweep (issue 14, labcore.sweep; one name per widget) ----------------------------------------------------------
SWEEP_RANGES: dict[str, tuple[float, float, float]] = {"samples": (2, 24, 1), "epochs": (1, 12, 1), "seed": (0, 10_000, 1)}


def sweep(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.sweep import space

    yield Param("data", space.SweepConfig.data, choices=space.SWEEP_DATASETS)
    models = tuple(m for m in space.SWEEP_MODELS if m in models_for(dataset_info(v["data"])))
    yield Param("model", space.SweepConfig.model if space.SweepConfig.model in models else models[0], choices=models)
    yield Param("method", space.METHODS[0], choices=space.METHODS)
    d = space.SweepConfig()
    yield Param("lr", d.lrs, choices=tuple(LEARNING_RATES), many=True)
    yield Param("batch", d.batch_sizes, choices=tuple(BATCH_SIZES), many=True)
    yield Param("optim", d.optimizers, choices=tuple(OPTIMIZERS.names()), many=True)
    yield Param("width", d.widths, choices=tuple(WIDTHS), many=True)
    if v["method"] == "random":
        yield _range("samples", d.samples, "samples", SWEEP_RANGES)
    yield _range("epochs", d.epochs, "epochs", SWEEP_RANGES)
    yield Param("eta", d.eta, choices=space.ETAS)
    yield Param("parallel", d.parallel, choices=space.PARALLEL)
    yield _range("seed", d.seed, "seed", SWEEP_RANGES)
    if space.ray_ready():  # the backend picker is drawn only when a Ray cluster is configured
        yield Param("backend", space.BACKENDS[0], choices=space.BACKENDS)


def sweep_names() -> list[str]:
    return [p.name for p in sweep({"data": "digits", "method": "random"})] + ["backend"]


# -- Beyond classification (lesson 22, labcore.beyond; one name per widget, grouped by tab) -------------------------
BEYOND_PANELS = ("segment", "detect", "which")


def beyond(v: Mapping[str, Any]) -> Iterator[Param]:
    from labcore.beyond import nms, suggest
    from labcore.beyond import train as bt

    lo, hi, step = bt.EPOCHS
    s_lo, s_hi, s_step = bt.SEEDS
    yield Param("panel", BEYOND_PANELS[0], choices=BEYOND_PANELS)
    for task, epochs in (("seg", 5), ("det", 10)):
        yield Param(f"{task}.epochs", epochs, lo=lo, hi=hi, step=step)
        yield Param(f"{task}.train", 512, choices=bt.TRAIN_SIZES)
        yield Param(f"{task}.seed", 0, lo=s_lo, hi=s_hi, step=s_step)
        yield Param(f"{task}.worst", False)
    yield Param("seg.skips", True)
    yield Param("nms.iou", 0.5, choices=nms.IOU_THRESHOLDS)
    yield Param("nms.score", 0.3, choices=nms.SCORE_THRESHOLDS)
    for name, choices in (("data", suggest.DATA), ("rows", suggest.ROWS), ("labels", suggest.LABELS),
                          ("task", suggest.TASKS)):
        yield Param(f"which.{name}", suggest.DEFAULTS[name], choices=choices)


def beyond_names() -> list[str]:
    return [p.name for p in beyond({})]


# -- every page ----------------------------------------------------------------------------------------------
SCHEMAS = {"train": train, "playground": playground, "race": race, "explain": explain, "transfer": transfer,
           "try-it": try_it, "sequences": sequences, "attention": attention, "autoencoders": autoencoders,
           "neurons": neurons, "convolution": convolution, "tricks": tricks, "evaluation": evaluation,
           "precision": precision, "runs": runs, "sweep": sweep, "beyond": beyond}


def read(page: str, query: Mapping[str, Any], **context: Any) -> tuple[dict[str, Any], list[str]]:
    """Valid values for `page` from a link, and the names of the link's params it could not use."""
    values, ignored = share.read(functools.partial(SCHEMAS[page], **context), query, skip=GLOBALS)
    if page == "race":
        _race_needs_two(values, ignored, query)
    return values, ignored


def write(page: str, values: Mapping[str, Any], **context: Any) -> dict[str, str]:
    return share.write(functools.partial(SCHEMAS[page], **context), values)


def global_params(v: Mapping[str, Any] | None = None) -> Iterator[Param]:
    """`lang` (a language with a catalogue) and `present` (presentation mode), on every page."""
    yield Param("lang", DEFAULT_LANG, choices=tuple(languages()))
    yield Param("present", False)


def read_globals(query: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The global params `query` names (and only those), and the ones with a value no page can use."""
    given = {k: query[k] for k in GLOBALS if k in query}
    values, ignored = share.read(global_params, given)
    return {k: v for k, v in values.items() if k in given and k not in ignored}, ignored
