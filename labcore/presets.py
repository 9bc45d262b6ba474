"""The course map: the book's 23 lessons (with the two seed lessons where they fit) and the lab's presets.

A preset is one demonstration: a page (its url_path in app/main.py) opened with query parameters that set
it up. Train, playground and race presets are built from real config objects and written with each page's
own `to_query`, so renaming a config field breaks a test instead of a classroom link; the other pages' presets
name params of the page's link schema (labcore.links), and tests check that the page reads every one. A new
page adds its presets in one place: lines in `_other()` (or a `_<page>()` of config objects, added in `_build()`).

Text lives in the catalogue: `presets.<id>` / `presets.help.<id>` for a preset, `syllabus.title.<lesson>`,
`syllabus.show.<lesson>` and (unless the lesson is fully shown) `syllabus.missing.<lesson>` for a lesson.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from labcore import share
from labcore.config import AugmentConfig, DataConfig, RunConfig, TrainConfig
from labcore.data import dataset_info
from labcore.models import default_config
from labcore.playground import share as playground_share
from labcore.playground.config import PlaygroundConfig
from labcore.playground.config import default_config as playground_default
from labcore.train import race_setup
from labcore.train.race import Contender, RaceConfig, optimizer_defaults

PAGES = ("train", "playground", "race", "explain", "transfer", "try-it", "sequences", "attention", "autoencoders",
         "neurons", "convolution", "tricks", "evaluation", "precision", "runs", "sweep", "beyond")
SHOWN, PARTLY, NOT_YET = "shown", "partly", "not_yet"
# Parts of the course, in order; each lesson id is "1".."23" or a seed lesson ("transfer", "tricks").
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("basics", ("1", "2", "3", "4", "5", "6")),
    ("architectures", ("7", "8", "9", "10", "11")),
    ("training", ("12", "tricks", "13", "14")),
    ("tools", ("15", "16", "17", "18")),
    ("practice", ("19", "transfer", "20", "21", "22", "23")),
)
STATUS = {
    "1": SHOWN, "2": SHOWN, "3": SHOWN, "4": SHOWN, "5": SHOWN, "6": SHOWN, "7": SHOWN, "8": SHOWN,
    "9": SHOWN, "10": SHOWN, "11": SHOWN, "12": SHOWN, "tricks": SHOWN, "13": SHOWN, "14": SHOWN,
    "15": SHOWN, "16": SHOWN, "17": SHOWN, "18": PARTLY, "19": SHOWN, "transfer": SHOWN, "20": SHOWN,
    "21": SHOWN, "22": PARTLY, "23": SHOWN,
}


@dataclass(frozen=True)
class Lesson:
    id: str  # "1".."23", "transfer" or "tricks"
    part: str
    status: str  # SHOWN, PARTLY or NOT_YET

    @property
    def number(self) -> int | None:
        return int(self.id) if self.id.isdigit() else None

    @property
    def title_key(self) -> str:
        return f"syllabus.title.{self.id}"

    @property
    def show_key(self) -> str:
        return f"syllabus.show.{self.id}"

    @property
    def missing_key(self) -> str | None:
        """What the lab cannot show of this lesson yet (None when it shows all of it)."""
        return None if self.status == SHOWN else f"syllabus.missing.{self.id}"


LESSONS: tuple[Lesson, ...] = tuple(Lesson(i, part, STATUS[i]) for part, ids in PARTS for i in ids)


@dataclass(frozen=True, eq=False)
class Preset:
    id: str  # slug, unique
    lesson: str  # the lesson it belongs to
    page: str  # url_path of the page
    query: Mapping[str, str] = field(default_factory=dict)
    also: tuple[str, ...] = ()  # other lessons that list it too

    @property
    def title_key(self) -> str:
        return f"presets.{self.id}"

    @property
    def help_key(self) -> str:
        return f"presets.help.{self.id}"


def page_script(page: str) -> str:
    """The page's script relative to app/main.py, which registers views/<url_path with _>.py: try-it -> views/try_it.py."""
    return f"views/{page.replace('-', '_')}.py"


def link(preset: Preset, **extra: str) -> str:
    """The preset's relative URL: url_path?params (`extra`, e.g. lang, on top)."""
    params = {**preset.query, **extra}
    return preset.page + ("?" + urlencode(params) if params else "")


# -- Train: labcore.config.RunConfig through labcore.share.to_query --------------------------------------
def _run(data: str, model: str = "cnn", *, data_opts: dict | None = None, model_opts: dict | None = None,
         optim: str = "adam", optim_opts: dict | None = None, augment: dict | None = None, **train: Any) -> RunConfig:
    """A Train setup as the page builds it: each model and optimizer starts from its own defaults, and a 2-D
    toy always names its size and noise (the page's sliders show them)."""
    toy = POINTS if dataset_info(data).kind == "points" else {}
    return RunConfig(data=DataConfig(name=data, **{**toy, **(data_opts or {})}),
                     model=replace(default_config(model), **(model_opts or {})),
                     optim=optimizer_defaults(optim, **(optim_opts or {})),
                     augment=AugmentConfig(**(augment or {})), train=TrainConfig(**train))


POINTS = {"n_samples": 600, "noise": 0.1}  # the Train page's starting values for a 2-D toy
TOY = {"n_samples": 400, "noise": 0.2}
DEEP = {"depth": 6, "width": 32}
FEW = {"n_samples": 100, "noise": 0.4}  # few noisy points: a big MLP memorises them
BIG = {"depth": 4, "width": 256}


def _train() -> list[tuple[str, str, RunConfig, tuple[str, ...]]]:
    return [
        ("digits-cnn", "1", _run("digits", epochs=10), ("5",)),
        ("xor-mlp", "2", _run("xor", "mlp", model_opts={"depth": 1, "width": 8}, optim_opts={"lr": 0.01}, epochs=60),
         ()),
        ("spirals-mlp", "2", _run("spirals", "mlp", model_opts={"depth": 3, "width": 64}, epochs=60), ()),
        ("deep-sigmoid", "2", _run("moons", "mlp", data_opts=TOY, model_opts={**DEEP, "activation": "sigmoid"},
                                   optim="momentum", optim_opts={"lr": 0.05}, epochs=40), ("tricks",)),
        ("deep-relu", "2", _run("moons", "mlp", data_opts=TOY, model_opts=DEEP, optim="momentum",
                                optim_opts={"lr": 0.05}, epochs=40), ("tricks",)),
        ("lr-too-high", "4", _run("digits", optim_opts={"lr": 10.0}, epochs=5), ()),
        ("lr-too-low", "4", _run("digits", optim_opts={"lr": 1e-5}, epochs=10), ()),
        ("binary-metrics", "5", _run("breast_cancer", "mlp", epochs=30), ()),
        ("overfit", "6", _run("moons", "mlp", data_opts=FEW, model_opts=BIG, optim_opts={"lr": 0.01},
                              epochs=100, batch_size=8), ("tricks",)),
        ("regularised", "6", _run("moons", "mlp", data_opts=FEW, model_opts={**BIG, "dropout": 0.5},
                                  optim_opts={"lr": 0.01, "weight_decay": 0.01}, epochs=100, batch_size=8,
                                  patience=10), ("tricks",)),
        ("shapes-mlp", "7", _run("shapes", "mlp", epochs=10), ()),
        ("shapes-cnn", "7", _run("shapes", epochs=10), ()),
        ("cnn-kernel-1", "8", _run("shapes", model_opts={"kernel_size": 1}, epochs=10), ()),
        ("cnn-avg-pool", "8", _run("shapes", model_opts={"pooling": "avg"}, epochs=10), ()),
        ("init-zeros", "12", _run("moons", "mlp", data_opts=TOY, model_opts={"depth": 3, "init": "zeros"},
                                  optim="momentum", optim_opts={"lr": 0.05}, epochs=40), ("tricks",)),
        ("deep-sigmoid-bn", "12", _run("moons", "mlp", data_opts=TOY,
                                       model_opts={**DEEP, "activation": "sigmoid", "batch_norm": True},
                                       optim="momentum", optim_opts={"lr": 0.05}, epochs=40), ("tricks",)),
        ("lr-decay", "tricks", _run("digits", optim="momentum", optim_opts={"schedule": "exponential", "gamma": 0.98},
                                    epochs=20), ()),
        ("augment-shapes", "13", _run("shapes", augment={"rotation": 30.0, "hflip": True, "noise_std": 0.05},
                                      epochs=15), ()),
        ("warmup-cosine", "14", _run("digits", optim="adamw", optim_opts={"schedule": "cosine", "warmup_epochs": 2.0},
                                     epochs=20), ()),
        ("tabular-mlp", "22", _run("wine", "mlp", epochs=30), ("1",)),
        ("save-and-serve", "21", _run("digits", "mlp", epochs=10), ("20", "16", "17")),
        ("drift-monitor", "23", _run("digits", epochs=10), ()),
    ]


# -- Optimizer playground: PlaygroundConfig through labcore.playground.share.to_query --------------------
def _surface(surface: str, on: tuple[str, ...] | None = None, **changes: Any) -> PlaygroundConfig:
    cfg = replace(playground_default(surface), **changes)
    if on is None:
        return cfg
    return replace(cfg, optimizers=tuple(replace(s, enabled=s.name in on) for s in cfg.optimizers))


def _playground() -> list[tuple[str, str, PlaygroundConfig, tuple[str, ...]]]:
    return [
        ("one-weight-zigzag", "3", _surface("rosenbrock", on=("sgd",), book_lr=0.2), ()),
        ("one-weight-diverge", "3", _surface("rosenbrock", on=("sgd",), book_lr=0.3), ()),
        ("surface-rosenbrock", "14", _surface("rosenbrock"), ()),
        ("surface-ravine", "14", _surface("ravine", on=("sgd", "momentum", "nesterov")), ("tricks",)),
        ("surface-adaptive", "tricks", _surface("ravine", on=("sgd", "adagrad", "rmsprop", "adam")), ("14",)),
        ("surface-saddle", "14", _surface("saddle", on=("sgd", "momentum", "adam")), ()),
        ("surface-bumpy", "14", _surface("bumpy"), ()),
    ]


# -- Optimizer race: RaceConfig through labcore.train.race_setup.to_query --------------------------------
def _race() -> list[tuple[str, str, RaceConfig, tuple[str, ...]]]:
    momentum = RaceConfig(contenders=(Contender(optimizer_defaults("sgd")), Contender(optimizer_defaults("momentum")),
                                      Contender(optimizer_defaults("adam"))))
    return [
        ("race-optimizers", "4", race_setup.preset("optimizers"), ()),
        ("race-learning-rates", "4", race_setup.preset("learning_rates"), ()),
        ("race-batch-sizes", "4", race_setup.preset("batch_sizes"), ()),
        ("race-momentum", "tricks", momentum, ()),
        ("race-adamw-vs-l2", "14", race_setup.preset("adamw_vs_l2"), ()),
        ("race-lion-vs-adamw", "14", race_setup.preset("lion_vs_adamw"), ()),
    ]


# -- The other pages: params named by the page's link schema (labcore.links, written out in
# /tmp/lab-coord/links.md), only those that differ from the page's defaults. Tests check each page reads them all.
def _other() -> list[tuple[str, str, str, dict[str, str], tuple[str, ...]]]:
    return [
        ("explain-attributions", "15", "explain", {}, ()),
        ("explain-feature-maps", "8", "explain", {}, ("7",)),
        ("explain-ideal-adversarial", "transfer", "explain", {}, ("15",)),
        ("transfer-strategies", "19", "transfer", {}, ("transfer",)),
        ("transfer-shapes", "transfer", "transfer", {"target": "shapes_new"}, ("19",)),
        ("transfer-domain-gap", "transfer", "transfer", {"target": "shapes_all", "labels_per_class": "0"}, ("19",)),
        ("try-it", "20", "try-it", {}, ("21",)),
        ("sequences-forecast", "9", "sequences", {"forecast.series": "co2", "forecast.models": "gru,lstm,conv1d"},
         ("22",)),
        ("sequences-memory", "9", "sequences", {"memory.models": "rnn,gru,lstm"}, ("tricks",)),
        ("attention-heads", "11", "attention", {}, ("15",)),
        ("attention-vit", "11", "attention", {"panel": "vit", "vit.data": "shapes"}, ()),
        ("attention-positions", "11", "attention", {"panel": "positions"}, ()),
        ("ae-latent", "10", "autoencoders", {}, ()),
        ("ae-vae", "10", "autoencoders", {"model": "vae"}, ()),
        ("ae-denoise", "10", "autoencoders", {"noise": "0.3"}, ()),
        ("ae-anomaly", "10", "autoencoders", {"holdout": "0"}, ()),
        ("edge-detector", "7", "convolution", {"source": "shapes", "kernel": "sobel_x"}, ()),
        ("dense-vs-conv", "7", "convolution", {}, ()),
        ("stride-padding", "8", "convolution", {"grid.size": "8", "grid.p": "1", "grid.s": "2", "pool.relu": "1"}, ()),
        ("perceptron", "2", "neurons", {}, ()),
        ("sigmoid-vanishes", "2", "neurons", {"panel": "activations", "act.x": "5"}, ("12",)),
        ("depth-collapses", "2", "neurons", {"panel": "depth"}, ()),
        ("universal-approximation", "2", "neurons", {"panel": "approximation", "approx.width": "3"}, ()),
        ("bce-explodes", "3", "neurons", {"panel": "losses", "loss.yhat": "0.01"}, ()),
        ("backprop-steps", "3", "neurons", {"panel": "backprop"}, ()),
        ("features-vs-cnn", "1", "neurons", {"panel": "mlvsdl"}, ()),
        ("lr-too-large", "1", "neurons", {"panel": "mlvsdl", "loop.lr": "2", "loop.step": "3", "loop.stage": "step"},
         ("3",)),
        ("float-formats", "18", "precision", {}, ()),
        ("fp16-flush", "18", "precision", {"number": "1e-8"}, ()),
        ("loss-scaling", "18", "precision", {"panel": "scaling"}, ()),
        ("autocast-cpu", "18", "precision", {"panel": "autocast"}, ()),
        ("threshold-tradeoff", "5", "evaluation", {}, ()),
        ("accuracy-paradox", "5", "evaluation", {"prevalence": "2"}, ()),
        ("calibration", "5", "evaluation", {"panel": "calibration"}, ()),
        ("deep-vs-classic", "22", "evaluation", {"panel": "compare"}, ("1",)),
        ("table-shap", "15", "evaluation", {"panel": "compare", "shap": "1"}, ("22",)),
        ("correlated-twins", "15", "evaluation", {"panel": "compare", "cmp.data": "wine", "twin": "1"}, ("22",)),
        ("messy-fraud", "22", "evaluation", {"panel": "tables"}, ("5",)),
        ("churn-embeddings", "22", "evaluation", {"panel": "tables", "tbl.data": "churn", "tbl.encoding": "embedding"}, ()),
        ("regression-metrics", "5", "evaluation", {"panel": "regression", "reg.outliers": "3"}, ()),
        ("regression-negative-r2", "5", "evaluation", {"panel": "regression", "reg.data": "lags"}, ("9",)),
        ("init-vanishing", "12", "tricks", {"init.scheme": "small"}, ("tricks",)),
        ("init-he-relu", "tricks", "tricks", {"init.scheme": "he", "init.act": "relu", "init.depth": "50"}, ("12", "6")),
        ("tricks-batchnorm", "12", "tricks", {"panel": "compare"}, ("tricks",)),
        ("tricks-regularisation", "6", "tricks", {"panel": "compare", "compare": "regularisation"}, ("tricks", "13")),
        ("tricks-random-labels", "6", "tricks", {"panel": "compare", "compare": "random_labels"}, ("tricks",)),
        ("tricks-clipping", "tricks", "tricks", {"panel": "compare", "compare": "clipping"}, ("12",)),
        ("tricks-lr-decay", "tricks", "tricks", {"panel": "compare", "compare": "lr_decay"}, ("14",)),
        ("tricks-bn-batch-size", "12", "tricks", {"panel": "compare", "compare": "bn_batch_size"}, ("tricks",)),
        ("tricks-capacity", "6", "tricks", {"panel": "compare", "compare": "capacity"}, ("tricks", "13")),
        ("tricks-over-augmentation", "13", "tricks", {"panel": "compare", "compare": "over_augmentation"}, ("tricks", "6")),
        ("tricks-norms", "12", "tricks", {"panel": "compare", "compare": "norms"}, ("tricks",)),
        ("tricks-data-size", "13", "tricks", {"panel": "compare", "compare": "data_size", "cmp.fraction": "0.02"},
         ("tricks", "6")),
        ("tricks-rotation", "13", "tricks", {"panel": "compare", "compare": "rotation"}, ("tricks",)),
        ("tricks-scaling", "tricks", "tricks", {"panel": "compare", "compare": "scaling"}, ("4",)),
        ("tricks-ensemble", "tricks", "tricks", {"panel": "compare", "compare": "ensemble"}, ("6",)),
        ("run-history", "20", "runs", {"pages": "train"}, ()),
        ("beyond-segment", "22", "beyond", {}, ()),
        ("beyond-skips", "22", "beyond", {"seg.skips": "0"}, ()),
        ("beyond-detect", "22", "beyond", {"panel": "detect"}, ()),
        ("beyond-which", "22", "beyond", {"panel": "which"}, ("1",)),
        ("sweep-lr-batch", "4", "sweep", {"lr": "0.0001,0.001,0.01,0.1", "batch": "16,64,256", "optim": "adam"}, ("14",)),
    ]


def _build() -> tuple[Preset, ...]:
    out = [Preset(i, lesson, "train", share.to_query(cfg), also) for i, lesson, cfg, also in _train()]
    out += [Preset(i, lesson, "playground", playground_share.to_query(cfg), also)
            for i, lesson, cfg, also in _playground()]
    out += [Preset(i, lesson, "race", race_setup.to_query(cfg), also) for i, lesson, cfg, also in _race()]
    out += [Preset(i, lesson, page, query, also) for i, lesson, page, query, also in _other()]
    return tuple(out)


PRESETS: tuple[Preset, ...] = _build()
BY_ID: dict[str, Preset] = {p.id: p for p in PRESETS}


def presets_for(lesson_id: str) -> list[Preset]:
    """The lesson's own presets first, then those it shares with other lessons."""
    return ([p for p in PRESETS if p.lesson == lesson_id] + [p for p in PRESETS if lesson_id in p.also])
