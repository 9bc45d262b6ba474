"""The Training tricks page's classic comparisons, one click each (issue 12): every comparison is an optimizer
race (labcore.train.race: the same start, the same batches for every contender) set up to show one trick, and
a verdict computed from the race's own numbers afterwards.

The settings were measured on the built-in data (2-core CPU, seed 0): without batch norm the deep ReLU net
diverges at step 47 while the batch-norm twin reaches ~91 % validation accuracy; the small noisy moons overfit
(train ~92 %, validation ~75 %); shuffled digit labels are memorised (train > 95 %, validation ~10 %);
clipping at 0.25 keeps the exploding run finite; Adam at lr 0.05 keeps bouncing where the decayed one settles.
With batch norm at batches of 2 the digits MLP stays at ~37 % training and ~59 % validation accuracy after 6 epochs,
where the same net at batches of 64 reaches ~98 % and the plain net at batches of 2 ~96 % (about 5 s on one core).
On 200 noisy circles the tiny MLP (1 × 2) underfits (train 76 %, validation 70 %), the large one (4 × 256) overfits
(train 94 %, validation 81 %, validation loss lowest at epoch 15); the medium one (2 × 8) validates best (~89 %), ~3 s.
Digits rotated up to 90° with pixel noise 0.6 end ~19 points below no or moderate augmentation on validation, ~2 s.
Issue 12's second batch (measured over seeds 0-2, one core): at batches of 2 the batch-norm MLP reaches 61-63 %
validation accuracy after 3 epochs, the layer-norm twin 91-95 %, the plain one 90-97 % (at 64: batch norm 97-98 %,
layer norm 96-97 %, plain 91-93 %; ~4 s).
On 5 % of the digits' training set (63 examples) the MLP's train-validation gap is 9-15 points, on 22 % 6-7, on all
of it 1.5-2 (2 %: 26-27 points; every smallest share and seed: the gap shrinks at each step; ~1 s). A CNN augmented
with rotations of up to ±180° confuses 4-10 of the 54 test sixes and nines with each other after 10 epochs, the ±15°
one none; its P(6) of a turning six moves by ~0.3 over all angles, the ±15° one's by ~0.97 (~3 s).
Input scaling (seeds 0-2): on raw breast-cancer features SGD with momentum diverges at full batch and ends at the
majority share (62.4 %), standardised it reaches 94-96.5 %; Adam copes (92-95 % raw, 95 % standardised; ~0.6 s;
labcore.tricks.scaling). Five MLPs from seeds 0-4 on noisy moons, averaged: see labcore.tricks.ensemble (~2 s).
Each race takes a few seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import torch

from labcore.config import AugmentConfig, DataConfig, ModelConfig, TrainConfig
from labcore.data import dataset_info, load_dataset, stratified_subset
from labcore.i18n import has, t
from labcore.models import default_config
from labcore.train.race import Contender, Race, RaceConfig, Standing, optimizer_defaults
from labcore.tricks import ensemble as ens
from labcore.viz.race import contender_color
from labcore.viz.theme import NEUTRAL_COLOR, downsample, log_axis, styled_figure

COMPARISONS = ("batchnorm", "regularisation", "random_labels", "clipping", "lr_decay", "bn_batch_size", "capacity",
               "over_augmentation", "norms", "data_size", "rotation", "scaling", "ensemble")
PATIENCE = 10  # early stopping on the baseline: epochs without a better validation loss
MEMORISED = 0.95  # training accuracy that counts as "memorised" on random labels
CLIP = 0.25
DECAY = 0.98
DROPOUT = 0.3
L2, ADAMW_DECAY, AUG_NOISE = 3e-3, 1.0, 0.2
TINY_BATCH, BIG_BATCH = 2, 64  # bn_batch_size: batch norm's statistics from 2 examples against 64
SIZES = ((1, 2), (2, 8), (4, 256))  # capacity: (hidden layers, width) of the tiny, medium and large MLP
TURNED = 1.1  # capacity: a final validation loss this many times its minimum counts as having turned up
MODERATE = AugmentConfig(rotation=15, noise_std=0.1)  # over_augmentation: degrees, pixel noise std
EXCESSIVE = AugmentConfig(rotation=90, noise_std=0.6)
HURT = 0.05  # over_augmentation: validation points below the best that count as hurt
NOISY_BN = 0.05  # validation points the tiny-batch batch-norm run must lose to both others to be called hurt
NORMS = ("batch", "layer", "none")  # norms: batch norm, layer norm, neither, each at TINY_BATCH and BIG_BATCH
STEADY = 0.1  # norms: validation points layer norm may lose from batches of 64 to 2 and still count as steady
FRACTIONS = (0.02, 0.05, 0.1, 0.2)  # data_size: the smallest share of the training set (the page's slider)
SMALLEST = 0.05
TURNS = (180, 15)  # rotation: the two augmentations, rotations of up to ± this many degrees
SCALING_LR, SCALING_STEPS = 0.01, 200  # scaling: both optimizers' learning rate; full-batch steps (= epochs)
SCALING_OPTIMIZERS = ("momentum", "adam")  # scaling: each on raw, then on standardised features
STUCK = 0.01  # scaling: validation accuracy at most this above the majority share counts as stuck there
MEMBERS = 5  # ensemble: networks averaged, from seeds 0..MEMBERS-1


@dataclass(frozen=True)
class Comparison:
    name: str
    race: RaceConfig
    lanes: tuple[tuple[str, dict], ...]  # per contender: its catalogue key (tricks.cmp.lane_<key>) and values


def _deep_mlp(batch_norm: bool) -> ModelConfig:
    return replace(default_config("mlp"), depth=6, width=64, activation="relu", batch_norm=batch_norm)


def _batchnorm() -> Comparison:
    sgd = optimizer_defaults("momentum", lr=1.0)
    race = RaceConfig(data=DataConfig(name="digits"), model=_deep_mlp(False), train=TrainConfig(epochs=10),
                      contenders=(Contender(sgd), Contender(sgd, model=_deep_mlp(True))))
    return Comparison("batchnorm", race, (("plain", {}), ("batchnorm", {})))


def _regularisation() -> Comparison:
    data = DataConfig(name="moons", n_samples=500, noise=0.45, val_fraction=0.4, test_fraction=0.1)
    model = replace(default_config("mlp"), depth=3, width=128, activation="relu", batch_norm=False)
    adam = optimizer_defaults("adam", lr=0.01)
    contenders = (Contender(adam), Contender(adam, model=replace(model, dropout=DROPOUT)),
                  Contender(replace(adam, weight_decay=L2)),
                  Contender(optimizer_defaults("adamw", lr=0.01, weight_decay=ADAMW_DECAY)),
                  Contender(adam, augment=AugmentConfig(noise_std=AUG_NOISE)))
    race = RaceConfig(data=data, model=model, train=TrainConfig(epochs=150, batch_size=32), contenders=contenders)
    return Comparison("regularisation", race, (("baseline", {}), ("dropout", {"p": DROPOUT}), ("l2", {"wd": L2}),
                                               ("adamw", {"wd": ADAMW_DECAY}), ("augment", {"std": AUG_NOISE})))


def _random_labels() -> Comparison:
    data = DataConfig(name="digits", val_fraction=0.5, test_fraction=0.1)
    model = replace(default_config("mlp"), depth=2, width=256, activation="relu", batch_norm=False)
    adam = optimizer_defaults("adam", lr=0.003)
    race = RaceConfig(data=data, model=model, train=TrainConfig(epochs=40, batch_size=32),
                      contenders=(Contender(adam), Contender(adam, random_labels=True)))
    return Comparison("random_labels", race, (("true_labels", {}), ("random_labels", {})))


def _clipping() -> Comparison:
    sgd = optimizer_defaults("momentum", lr=1.0)
    race = RaceConfig(data=DataConfig(name="digits"), model=_deep_mlp(False), train=TrainConfig(epochs=10),
                      contenders=(Contender(sgd), Contender(replace(sgd, clip_norm=CLIP))))
    return Comparison("clipping", race, (("no_clip", {}), ("clip", {"clip": CLIP})))


def _lr_decay() -> Comparison:
    adam = optimizer_defaults("adam", lr=0.05)
    race = RaceConfig(data=DataConfig(name="digits"), model=replace(default_config("mlp"), depth=2, width=64),
                      train=TrainConfig(epochs=60),
                      contenders=(Contender(adam), Contender(replace(adam, schedule="exponential", gamma=DECAY))))
    return Comparison("lr_decay", race, (("constant", {}), ("decay", {"gamma": DECAY})))


def _bn_batch_size() -> Comparison:
    bn = replace(default_config("mlp"), depth=3, width=64, activation="relu", batch_norm=True)
    adam = optimizer_defaults("adam", lr=0.003)
    race = RaceConfig(data=DataConfig(name="digits"), model=bn, train=TrainConfig(epochs=6, batch_size=BIG_BATCH),
                      contenders=(Contender(adam, batch_size=TINY_BATCH), Contender(adam, batch_size=BIG_BATCH),
                                  Contender(adam, batch_size=TINY_BATCH, model=replace(bn, batch_norm=False))))
    return Comparison("bn_batch_size", race, (("bn_batch", {"batch": TINY_BATCH}), ("bn_batch", {"batch": BIG_BATCH}),
                                              ("plain_batch", {"batch": TINY_BATCH})))


def _capacity() -> Comparison:
    data = DataConfig(name="circles", n_samples=200, noise=0.2, val_fraction=0.4, test_fraction=0.1)
    mlp = replace(default_config("mlp"), activation="relu", batch_norm=False)
    nets = [replace(mlp, depth=d, width=w) for d, w in SIZES]
    adam = optimizer_defaults("adam", lr=0.003)
    race = RaceConfig(data=data, model=nets[1], train=TrainConfig(epochs=300, batch_size=32),
                      contenders=tuple(Contender(adam, model=n) for n in nets))
    return Comparison("capacity", race, tuple((f"cap_{k}", {"depth": d, "width": w})
                                              for k, (d, w) in zip(("tiny", "medium", "large"), SIZES, strict=True)))


def _over_augmentation() -> Comparison:
    model = replace(default_config("mlp"), depth=2, width=128, activation="relu", batch_norm=False)
    adam = optimizer_defaults("adam", lr=0.003)
    race = RaceConfig(data=DataConfig(name="digits"), model=model, train=TrainConfig(epochs=10, batch_size=32),
                      contenders=(Contender(adam), Contender(adam, augment=MODERATE), Contender(adam, augment=EXCESSIVE)))
    return Comparison("over_augmentation", race, tuple((f"aug_{k}", {"deg": f"{a.rotation:g}", "std": f"{a.noise_std:g}"})
                                                       for k, a in (("none", AugmentConfig()), ("moderate", MODERATE),
                                                                    ("excessive", EXCESSIVE))))


def _norms() -> Comparison:
    plain = replace(default_config("mlp"), depth=3, width=64, activation="relu", batch_norm=False)
    nets = {"batch": replace(plain, batch_norm=True), "layer": replace(plain, layer_norm=True), "none": plain}
    adam = optimizer_defaults("adam", lr=0.003)
    grid = [(b, k) for b in (TINY_BATCH, BIG_BATCH) for k in NORMS]
    race = RaceConfig(data=DataConfig(name="digits"), model=plain, train=TrainConfig(epochs=3, batch_size=BIG_BATCH),
                      contenders=tuple(Contender(adam, batch_size=b, model=nets[k]) for b, k in grid))
    return Comparison("norms", race, tuple((f"norm_{k}", {"batch": b}) for b, k in grid))


def shares(fraction: float) -> tuple[float, float, float]:
    """data_size: the smallest share, one halfway between it and all on a log scale (its square root), all."""
    return fraction, round(math.sqrt(fraction), 2), 1.0


def _data_size(fraction: float = SMALLEST) -> Comparison:
    data = DataConfig(name="digits")
    model = replace(default_config("mlp"), depth=2, width=128, activation="relu", batch_norm=False)
    adam = optimizer_defaults("adam", lr=0.003)
    race = RaceConfig(data=data, model=model, train=TrainConfig(epochs=30, batch_size=32),
                      contenders=tuple(Contender(adam, train_fraction=f) for f in shares(fraction)))
    y = load_dataset(data).y_train.numpy()
    return Comparison("data_size", race, tuple(("size", {"pct": f"{100 * f:g}", "n": len(stratified_subset(y, f, data.seed))})
                                               for f in shares(fraction)))


def _rotation() -> Comparison:
    adam = optimizer_defaults("adam", lr=0.003)
    race = RaceConfig(data=DataConfig(name="digits"), model=default_config("cnn"), train=TrainConfig(epochs=10, batch_size=32),
                      contenders=tuple(Contender(adam, augment=AugmentConfig(rotation=d)) for d in TURNS))
    return Comparison("rotation", race, tuple(("turned", {"deg": d}) for d in TURNS))


def _scaling() -> Comparison:
    data = DataConfig(name="breast_cancer")
    model = replace(default_config("mlp"), depth=2, width=32, activation="relu", batch_norm=False)
    full = len(load_dataset(data).y_train)  # one batch of every training row: one step per epoch
    contenders = tuple(Contender(optimizer_defaults(o, lr=SCALING_LR), raw_inputs=raw)
                       for o in SCALING_OPTIMIZERS for raw in (True, False))
    race = RaceConfig(data=data, model=model, train=TrainConfig(epochs=SCALING_STEPS, batch_size=full),
                      contenders=contenders)
    return Comparison("scaling", race, tuple(("raw" if raw else "scaled", {"opt": o, "lr": f"{SCALING_LR:g}"})
                                             for o in SCALING_OPTIMIZERS for raw in (True, False)))


def _ensemble() -> Comparison:
    data = DataConfig(name="moons", n_samples=200, noise=0.3, val_fraction=0.4, test_fraction=0.1)
    model = replace(default_config("mlp"), depth=3, width=128, activation="relu", batch_norm=False)
    adam = optimizer_defaults("adam", lr=0.01)
    race = RaceConfig(data=data, model=model, train=TrainConfig(epochs=100, batch_size=32),
                      contenders=tuple(Contender(adam, seed=k) for k in range(MEMBERS)))
    return Comparison("ensemble", race, tuple(("member", {"n": k + 1, "seed": k}) for k in range(MEMBERS)))


BUILDERS: dict[str, Callable[..., Comparison]] = {
    "batchnorm": _batchnorm, "regularisation": _regularisation, "random_labels": _random_labels,
    "clipping": _clipping, "lr_decay": _lr_decay, "bn_batch_size": _bn_batch_size,
    "capacity": _capacity, "over_augmentation": _over_augmentation, "norms": _norms, "data_size": _data_size,
    "rotation": _rotation, "scaling": _scaling, "ensemble": _ensemble,
}


def comparison(name: str, fraction: float = SMALLEST) -> Comparison:
    """Comparison `name`; `fraction` is data_size's smallest share of the training set (the others have no option)."""
    return BUILDERS[name](fraction) if name == "data_size" else BUILDERS[name]()


def labels(c: Comparison, lang: str = "en") -> list[str]:
    return [t(f"tricks.cmp.lane_{key}", lang, **_named(values, lang)) for key, values in c.lanes]


def _named(values: dict, lang: str) -> dict:
    """A lane's values for its label: an optimizer's registry name as its display name."""
    return values | {"opt": t(f"optimizers.{values['opt']}", lang)} if "opt" in values else values


# -- numbers from a finished race ---------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.1f} %" if math.isfinite(x) else "–"


def _last(s: Standing, key: str) -> float:
    return float(s.epochs[-1][key]) if s.epochs else math.nan


def _peak(s: Standing, key: str) -> float:
    values = [r[key] for r in s.steps if math.isfinite(r[key])]
    return max(values) if values else math.nan


def _chance(c: Comparison) -> float:
    return 1 / len(dataset_info(c.race.data.name, c.race.data).class_names)


def early_stop(s: Standing, patience: int = PATIENCE) -> dict | None:
    """Early stopping replayed on a finished curve: the epoch where `patience` epochs went by without a lower
    validation loss (or the last one), and the best epoch's row, which early stopping keeps."""
    best, stop = None, None
    for i, row in enumerate(s.epochs):
        if best is None or row["val_loss"] < s.epochs[best]["val_loss"]:
            best = i
        elif i - best >= patience:
            stop = i
            break
    if best is None:
        return None
    return s.epochs[best] | {"stopped_at": s.epochs[stop if stop is not None else -1]["epoch"]}


def regularisation_rows(c: Comparison, standings: list[Standing], lang: str = "en") -> list[dict]:
    """Final train and validation accuracy and their gap per contender, and the baseline stopped early."""
    names = labels(c, lang)
    rows = [{"name": names[s.index], "train": _last(s, "acc"), "val": _last(s, "val_acc")} for s in standings
            if s.epochs]
    base = next((s for s in standings if s.index == 0), None)
    stopped = early_stop(base) if base is not None else None
    if stopped is not None:
        rows.insert(1, {"name": t("tricks.cmp.lane_early", lang, patience=PATIENCE, epoch=stopped["epoch"],
                                  stop=stopped["stopped_at"]), "train": stopped["acc"], "val": stopped["val_acc"]})
    return [r | {"gap": r["train"] - r["val"]} for r in rows]


def verdict(c: Comparison, standings: list[Standing], lang: str = "en", race: Race | None = None) -> str:
    """A few sentences from the race's numbers: what the comparison showed this time (the ensemble's need the
    finished `race` itself: its members' networks)."""
    if len(standings) < len(c.lanes) or not any(s.epochs for s in standings):
        return t("tricks.cmp.verdict_none", lang)
    if c.name == "ensemble":
        return _v_ensemble(c, race, lang) if race is not None else t("tricks.cmp.verdict_none", lang)
    return VERDICTS[c.name](c, {s.index: s for s in standings}, lang)


def _failure(s: Standing, chance: float, lang: str, subject: str) -> str:
    if s.status == "diverged":
        return t("tricks.cmp.verdict_diverged", lang, who=subject, step=s.diverged_step, first=f"{s.steps[0]['loss']:.3g}",
                 peak=f"{_peak(s, 'loss'):.3g}")
    return t("tricks.cmp.verdict_final", lang, who=subject, acc=_pct(_last(s, "val_acc")), chance=_pct(chance))


def _v_batchnorm(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    names = labels(c, lang)
    return " ".join([_failure(s[0], _chance(c), lang, names[0]),
                     t("tricks.cmp.verdict_bn", lang, who=names[1], acc=_pct(_last(s[1], "val_acc")),
                       lr=f"{c.race.contenders[0].optim.lr:g}")])


def _v_regularisation(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    rows = regularisation_rows(c, list(s.values()), lang)
    base = rows[0]
    tight = min(rows[1:], key=lambda r: abs(r["gap"]))
    best = max(rows[1:], key=lambda r: r["val"])
    return t("tricks.cmp.verdict_reg", lang, train=_pct(base["train"]), val=_pct(base["val"]),
             gap=f"{100 * base['gap']:.1f}", tight=tight["name"], tight_gap=f"{100 * tight['gap']:.1f}",
             best=best["name"], best_val=_pct(best["val"]))


def _v_random_labels(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    true, rnd = s[0], s[1]
    reached = next((r["epoch"] for r in rnd.epochs if r["acc"] >= MEMORISED), None)
    key = "tricks.cmp.verdict_memorised" if reached is not None else "tricks.cmp.verdict_not_memorised"
    return " ".join([t(key, lang, train=_pct(_last(rnd, "acc")), epoch=reached, goal=_pct(MEMORISED),
                       val=_pct(_last(rnd, "val_acc")), chance=_pct(_chance(c))),
                     t("tricks.cmp.verdict_true_labels", lang, train=_pct(_last(true, "acc")),
                       val=_pct(_last(true, "val_acc")))])


def _v_clipping(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    names = labels(c, lang)
    plain, clipped = s[0], s[1]
    first = t("tricks.cmp.verdict_diverged", lang, who=names[0], step=plain.diverged_step,
              first=f"{plain.steps[0]['loss']:.3g}", peak=f"{_peak(plain, 'loss'):.3g}") \
        if plain.status == "diverged" else t("tricks.cmp.verdict_finite", lang, who=names[0], peak=f"{_peak(plain, 'loss'):.3g}")
    if clipped.status == "diverged":
        second = _failure(clipped, _chance(c), lang, names[1])
    else:
        second = t("tricks.cmp.verdict_clipped", lang, who=names[1], peak=f"{_peak(clipped, 'loss'):.3g}",
                   norm=f"{_peak(clipped, 'grad_norm'):.3g}", clip=f"{CLIP:g}", acc=_pct(_last(clipped, "val_acc")))
    return " ".join([first, second])


def _v_lr_decay(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    n = 10
    parts = []
    for i in (0, 1):
        acc = [r["val_acc"] for r in s[i].epochs[-n:]]
        parts.append({"lo": _pct(min(acc)), "hi": _pct(max(acc)), "loss": f"{_last(s[i], 'loss'):.2g}",
                      "lr": f"{_last(s[i], 'lr'):.2g}"})
    return t("tricks.cmp.verdict_decay", lang, n=min(n, len(s[0].epochs)), c_lo=parts[0]["lo"], c_hi=parts[0]["hi"],
             c_loss=parts[0]["loss"], d_lo=parts[1]["lo"], d_hi=parts[1]["hi"], d_loss=parts[1]["loss"],
             d_lr=parts[1]["lr"], lr=f"{c.race.contenders[0].optim.lr:g}")


def _v_bn_batch_size(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    names = labels(c, lang)
    parts = [t("tricks.cmp.verdict_train_val", lang, who=names[i], train=_pct(_last(s[i], "acc")),
               val=_pct(_last(s[i], "val_acc"))) for i in (0, 1, 2)]
    tiny, others = _last(s[0], "val_acc"), min(_last(s[1], "val_acc"), _last(s[2], "val_acc"))
    key = "tricks.cmp.verdict_bn_noisy" if tiny < others - NOISY_BN else "tricks.cmp.verdict_bn_not_noisy"
    return " ".join([*parts, t(key, lang, batch=TINY_BATCH, points=f"{100 * (others - tiny):.1f}")])


def _v_over_augmentation(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    names = labels(c, lang)
    parts = [t("tricks.cmp.verdict_train_val", lang, who=names[i], train=_pct(_last(s[i], "acc")),
               val=_pct(_last(s[i], "val_acc"))) for i in sorted(s)]
    best = max(_last(s[i], "val_acc") for i in (0, 1))
    drop = best - _last(s[2], "val_acc")
    key = "tricks.cmp.verdict_over_aug" if drop > HURT else "tricks.cmp.verdict_over_aug_not"
    return " ".join([*parts, t(key, lang, who=names[2], points=f"{100 * drop:.1f}")])


def _v_norms(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    val = {(c.race.batch_size(i), NORMS[i % len(NORMS)]): _last(s[i], "val_acc") for i in s}
    parts = [t("tricks.cmp.verdict_norms_at", lang, batch=b, bn=_pct(val[b, "batch"]), ln=_pct(val[b, "layer"]),
               none=_pct(val[b, "none"])) for b in (TINY_BATCH, BIG_BATCH)]
    bn_drop, ln_drop = (val[BIG_BATCH, k] - val[TINY_BATCH, k] for k in ("batch", "layer"))
    steady = val[TINY_BATCH, "layer"] > val[TINY_BATCH, "batch"] + NOISY_BN and ln_drop < STEADY
    key = "tricks.cmp.verdict_ln_steady" if steady else "tricks.cmp.verdict_ln_not_steady"
    return " ".join([*parts, t(key, lang, small=TINY_BATCH, big=BIG_BATCH, bn=f"{100 * bn_drop:.1f}",
                               ln=f"{100 * ln_drop:.1f}")])


def size_rows(c: Comparison, standings: list[Standing], lang: str = "en") -> list[dict]:
    """data_size: per contender its share, examples, final train and validation accuracy and their gap."""
    names = labels(c, lang)
    return [{"name": names[s.index], "n": c.lanes[s.index][1]["n"], "train": _last(s, "acc"),
             "val": _last(s, "val_acc"), "gap": _last(s, "acc") - _last(s, "val_acc")}
            for s in sorted(standings, key=lambda s: s.index) if s.epochs]


def _v_data_size(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    rows = size_rows(c, list(s.values()), lang)
    parts = [t("tricks.cmp.verdict_gap", lang, who=r["name"], train=_pct(r["train"]), val=_pct(r["val"]),
               gap=f"{100 * r['gap']:.1f}") for r in rows]
    gaps = [r["gap"] for r in rows]
    shrinks = all(a > b for a, b in zip(gaps, gaps[1:], strict=False))
    key = "tricks.cmp.verdict_gap_shrinks" if shrinks else "tricks.cmp.verdict_gap_not_shrinks"
    return " ".join([*parts, t(key, lang, small=rows[0]["n"], big=rows[-1]["n"], first=f"{100 * gaps[0]:.1f}",
                               last=f"{100 * gaps[-1]:.1f}")])


def _v_rotation(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    names = labels(c, lang)
    return " ".join(t("tricks.cmp.verdict_train_val", lang, who=names[i], train=_pct(_last(s[i], "acc")),
                      val=_pct(_last(s[i], "val_acc"))) for i in sorted(s))


def turn(s: Standing) -> dict | None:
    """The epoch row with the lowest validation loss; after it the loss went up (or stayed flat)."""
    return min(s.epochs, key=lambda r: r["val_loss"]) if s.epochs else None


def _v_capacity(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    names = labels(c, lang)
    under = min(s, key=lambda i: _last(s[i], "acc"))
    over = max((i for i in s if i != under), key=lambda i: _last(s[i], "acc") - _last(s[i], "val_acc"))
    parts = [t("tricks.cmp.verdict_underfit", lang, who=names[under], train=_pct(_last(s[under], "acc")),
               val=_pct(_last(s[under], "val_acc"))),
             t("tricks.cmp.verdict_overfit", lang, who=names[over], train=_pct(_last(s[over], "acc")),
               val=_pct(_last(s[over], "val_acc")), gap=f"{100 * (_last(s[over], 'acc') - _last(s[over], 'val_acc')):.1f}")]
    for i in sorted(s):
        best, last = turn(s[i]), _last(s[i], "val_loss")
        key = "tricks.cmp.verdict_turned" if last > TURNED * best["val_loss"] else "tricks.cmp.verdict_not_turned"
        parts.append(t(key, lang, who=names[i], epoch=best["epoch"], best=f"{best['val_loss']:.3g}", last=f"{last:.3g}"))
    return " ".join(parts)


def majority(c: Comparison) -> tuple[str, float]:
    """The most common class of the validation set and its share: what always answering it scores."""
    y = load_dataset(c.race.data).y_val.numpy()
    counts = np.bincount(y)
    return dataset_info(c.race.data.name, c.race.data).class_names[int(counts.argmax())], float(counts.max() / len(y))


def _v_scaling(c: Comparison, s: dict[int, Standing], lang: str) -> str:
    names = labels(c, lang)
    parts = []
    for i in sorted(s):
        first = f"{s[i].steps[0]['loss']:.3g}" if s[i].steps else "–"
        if s[i].status == "diverged":
            parts.append(t("tricks.cmp.verdict_scaling_diverged", lang, who=names[i], first=first, step=s[i].diverged_step,
                           acc=_pct(_last(s[i], "val_acc"))))
        else:
            parts.append(t("tricks.cmp.verdict_scaling_lane", lang, who=names[i], first=first,
                           last=f"{_last(s[i], 'loss'):.3g}", acc=_pct(_last(s[i], "val_acc"))))
    cls, share = majority(c)
    parts.append(t("tricks.cmp.verdict_majority", lang, share=_pct(share),
                   cls=t(f"evaluation.class.{cls}", lang) if has(f"evaluation.class.{cls}") else cls))
    for k, opt in enumerate(SCALING_OPTIMIZERS):
        raw, scaled = _last(s[2 * k], "val_acc"), _last(s[2 * k + 1], "val_acc")
        values = {"opt": t(f"optimizers.{opt}", lang), "raw": _pct(raw), "scaled": _pct(scaled),
                  "points": f"{100 * abs(scaled - raw):.1f}"}
        if not math.isfinite(raw) or raw <= share + STUCK:
            key = "stuck"
        else:
            key = "behind" if scaled > raw else "not_behind"
        parts.append(t(f"tricks.cmp.verdict_scaling_{key}", lang, **values))
    return " ".join(parts)


def ensemble_probs(race: Race, x: torch.Tensor) -> list[np.ndarray]:
    """Every member's softmax probabilities for inputs `x`."""
    return [ens.probabilities(race.contender_model(i), x) for i in range(len(race.cfg.contenders))]


def ensemble_table(race: Race) -> tuple[list[ens.Scores], ens.Scores, ens.Scores]:
    """On the validation set: each member's accuracy and log loss, their means, and the averaged probabilities'."""
    return ens.table(ensemble_probs(race, race.data.x_val), race.data.y_val.numpy())


def _v_ensemble(c: Comparison, race: Race, lang: str) -> str:
    members, mean, whole = ensemble_table(race)
    acc, loss = [m.acc for m in members], [m.loss for m in members]
    diff = whole.acc - mean.acc
    key = "above" if diff > 1e-9 else "below" if diff < -1e-9 else "same"
    best = t("tricks.cmp.verdict_ens_best", lang) if whole.acc > max(acc) else ""
    return " ".join(p for p in [
        t(f"tricks.cmp.verdict_ens_{key}", lang, k=len(members), lo=_pct(min(acc)), hi=_pct(max(acc)), mean=_pct(mean.acc),
          ens=_pct(whole.acc), points=f"{100 * abs(diff):.1f}"), best,
        t("tricks.cmp.verdict_ens_loss" if whole.loss < mean.loss else "tricks.cmp.verdict_ens_loss_not", lang,
          lo=f"{min(loss):.3f}", hi=f"{max(loss):.3f}", mean=f"{mean.loss:.3f}", ens=f"{whole.loss:.3f}")] if p)


VERDICTS = {"batchnorm": _v_batchnorm, "regularisation": _v_regularisation, "random_labels": _v_random_labels,
            "clipping": _v_clipping, "lr_decay": _v_lr_decay, "bn_batch_size": _v_bn_batch_size,
            "capacity": _v_capacity, "over_augmentation": _v_over_augmentation, "norms": _v_norms,
            "data_size": _v_data_size, "rotation": _v_rotation, "scaling": _v_scaling}


# -- the gradient-norm chart (clipping) -----------------------------------------------------------------------
def grad_norm_figure(standings: list[Standing], names: list[str], *, clip: float | None = None,
                     lang: str = "en") -> go.Figure:
    """The gradient norm of every step (before clipping) per contender, on a log axis, and the clipping level."""
    traces = []
    for s in standings:
        x = np.array([r["epoch"] for r in s.steps], dtype=float)
        y = np.array([r["grad_norm"] for r in s.steps], dtype=float)
        y = np.where(np.isfinite(y) & (y > 0), y, np.nan)
        keep = downsample(len(y), 600, y)
        traces.append(go.Scatter(x=x[keep], y=y[keep], mode="lines", name=names[s.index],
                                 line={"color": contender_color(s.index), "width": 1.5},
                                 hovertemplate=f"%{{y:.3g}}<extra>{names[s.index]}</extra>"))
    layout: dict = {"xaxis": {"title": {"text": t("viz.epoch", lang)}, "rangemode": "tozero"},
                    "yaxis": {"title": {"text": t("tricks.cmp.viz_grad_norm", lang)},
                              **log_axis(*(tr.y for tr in traces), [clip or 1.0])}}
    if clip:
        layout["shapes"] = [{"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": clip, "y1": clip,
                             "line": {"color": NEUTRAL_COLOR, "dash": "dash", "width": 1}}]
        layout["annotations"] = [{"text": t("tricks.cmp.viz_clip_line", lang, clip=f"{clip:g}"), "xref": "x domain",
                                  "x": 1, "xanchor": "right", "yref": "y", "y": math.log10(clip), "yanchor": "top",
                                  "showarrow": False, "font": {"size": 11, "color": NEUTRAL_COLOR}}]
    return styled_figure(traces, layout, height=320, hovermode="closest")


def mark_turns(fig: go.Figure, standings: list[Standing], lang: str = "en") -> go.Figure:
    """Capacity: a dotted line on the race figure's loss panel at the epoch where a contender's validation loss
    was lowest, for each contender whose loss then turned up (by more than TURNED)."""
    for s in standings:
        best = turn(s)
        if best is None or _last(s, "val_loss") <= TURNED * best["val_loss"]:
            continue
        color = contender_color(s.index)
        fig.add_shape(type="line", xref="x", x0=best["epoch"], x1=best["epoch"], yref="y domain", y0=0, y1=1,
                      line={"color": color, "dash": "dot", "width": 1.5})
        fig.add_annotation(text=t("tricks.cmp.viz_turn", lang, epoch=best["epoch"]), xref="x", x=best["epoch"],
                           yref="y domain", y=1, yanchor="bottom", showarrow=False, font={"size": 11, "color": color})
    return fig
