"""The Training tricks page's classic comparisons, one click each (issue 12): every comparison is an optimizer
race (labcore.train.race: the same start, the same batches for every contender) set up to show one trick, and
a verdict computed from the race's own numbers afterwards.

The settings were measured on the built-in data (2-core CPU, seed 0): without batch norm the deep ReLU net
diverges at step 47 while the batch-norm twin reaches ~91 % validation accuracy; the small noisy moons overfit
(train ~92 %, validation ~75 %); shuffled digit labels are memorised (train > 95 %, validation ~10 %);
clipping at 0.25 keeps the exploding run finite; Adam at lr 0.05 keeps bouncing where the decayed one settles.
Each race takes a few seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go

from labcore.config import AugmentConfig, DataConfig, ModelConfig, TrainConfig
from labcore.data import dataset_info
from labcore.i18n import t
from labcore.models import default_config
from labcore.train.race import Contender, RaceConfig, Standing, optimizer_defaults
from labcore.viz.race import contender_color
from labcore.viz.theme import NEUTRAL_COLOR, downsample, log_axis, styled_figure

COMPARISONS = ("batchnorm", "regularisation", "random_labels", "clipping", "lr_decay")
PATIENCE = 10  # early stopping on the baseline: epochs without a better validation loss
MEMORISED = 0.95  # training accuracy that counts as "memorised" on random labels
CLIP = 0.25
DECAY = 0.98
DROPOUT = 0.3
L2, ADAMW_DECAY, AUG_NOISE = 3e-3, 1.0, 0.2


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


BUILDERS: dict[str, Callable[[], Comparison]] = {
    "batchnorm": _batchnorm, "regularisation": _regularisation, "random_labels": _random_labels,
    "clipping": _clipping, "lr_decay": _lr_decay,
}


def comparison(name: str) -> Comparison:
    return BUILDERS[name]()


def labels(c: Comparison, lang: str = "en") -> list[str]:
    return [t(f"tricks.cmp.lane_{key}", lang, **values) for key, values in c.lanes]


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


def verdict(c: Comparison, standings: list[Standing], lang: str = "en") -> str:
    """A few sentences from the race's numbers: what the comparison showed this time."""
    if len(standings) < len(c.lanes) or not any(s.epochs for s in standings):
        return t("tricks.cmp.verdict_none", lang)
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


VERDICTS = {"batchnorm": _v_batchnorm, "regularisation": _v_regularisation, "random_labels": _v_random_labels,
            "clipping": _v_clipping, "lr_decay": _v_lr_decay}


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
