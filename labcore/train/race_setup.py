"""Ready-made races from the book's comparisons, and a race setup as URL query parameters (shareable links).

A link names only what differs from the defaults, so it stays short and readable:
`?data=digits&model=cnn&train.epochs=10&c1=adam&c2=sgd&c2.lr=0.1&c3=rmsprop&c3.batch=256`
(`cN` is contender N's optimizer, `cN.<field>` its options, `cN.batch` its own batch size).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import Any

from labcore.config import DataConfig
from labcore.data import dataset_info
from labcore.i18n import LabError
from labcore.models import compatible, default_config
from labcore.train.race import MAX_CONTENDERS, Contender, RaceConfig, optimizer_defaults


def _race(*contenders: Contender) -> RaceConfig:
    return RaceConfig(contenders=contenders)


def _c(name: str, batch_size: int = 0, **changes: Any) -> Contender:
    return Contender(optimizer_defaults(name, **changes), batch_size)


# Each preset tells one of the book's stories on the digits CNN (10 epochs, seconds on a laptop).
PRESETS: dict[str, Callable[[], RaceConfig]] = {
    # Fig. 4.1: the adaptive methods against plain SGD, each at its usual learning rate.
    "optimizers": lambda: _race(_c("adam"), _c("sgd"), _c("rmsprop")),
    # Fig. 4.2: too high bounces around, too low crawls, the middle one learns.
    "learning_rates": lambda: _race(_c("momentum", lr=1.0), _c("momentum", lr=0.05), _c("momentum", lr=0.001)),
    # Fig. 4.3: small batches take many noisy steps per epoch, large ones few smooth ones.
    "batch_sizes": lambda: _race(_c("momentum", 16, lr=0.05), _c("momentum", 64, lr=0.05),
                                 _c("momentum", 256, lr=0.05)),
    # Lesson 14: the same decay strength as an L2 term inside Adam and as AdamW's decoupled decay.
    "adamw_vs_l2": lambda: _race(_c("adam", weight_decay=0.05), _c("adamw", weight_decay=0.05), _c("adam")),
    # Lesson 14: Lion (one state tensor, sign updates; smaller lr, larger decay) against AdamW.
    "lion_vs_adamw": lambda: _race(_c("lion", lr=3e-4, weight_decay=0.03), _c("adamw", weight_decay=0.01)),
}


def preset(name: str) -> RaceConfig:
    return PRESETS[name]()


# -- links ------------------------------------------------------------------------------------------------
def to_query(cfg: RaceConfig) -> dict[str, str]:
    """The setup as flat string parameters, naming only what differs from the defaults."""
    base = RaceConfig()
    q = {"data": cfg.data.name, "model": cfg.model.name}
    q |= _diff("data", cfg.data, DataConfig(name=cfg.data.name), skip={"name"})
    q |= _diff("model", cfg.model, default_config(cfg.model.name), skip={"name"})
    q |= _diff("train", cfg.train, base.train)
    if cfg.target_acc != base.target_acc:
        q["target"] = _text(cfg.target_acc)
    for i, c in enumerate(cfg.contenders, 1):
        q[f"c{i}"] = c.optim.name
        q |= _diff(f"c{i}", c.optim, optimizer_defaults(c.optim.name), skip={"name"})
        if c.batch_size:
            q[f"c{i}.batch"] = str(c.batch_size)
    return q


def from_query(q: Mapping[str, str | list[str]]) -> RaceConfig:
    """Read a setup back; a link that does not describe a valid race raises LabError("race.bad_link")."""
    q = {k: v[-1] if isinstance(v, list) else v for k, v in q.items()}
    try:
        base = RaceConfig()
        data = _apply("data", DataConfig(name=q.get("data", base.data.name)), q)
        model = _apply("model", default_config(q.get("model", base.model.name)), q)
        if not compatible(model.name, dataset_info(data.name, data)):
            raise ValueError(f"{model.name} cannot read {data.name}")
        contenders = []
        for i in range(1, MAX_CONTENDERS + 1):
            if f"c{i}" in q:
                optim = _apply(f"c{i}", optimizer_defaults(q[f"c{i}"]), q)
                contenders.append(Contender(optim, int(q.get(f"c{i}.batch", 0))))
        train = _apply("train", base.train, q)
        if train.epochs < 1 or train.batch_size < 1 or any(c.optim.lr <= 0 for c in contenders):
            raise ValueError("epochs, batch size and learning rates must be positive")
        cfg = RaceConfig(data=data, model=model, train=train, contenders=tuple(contenders),
                         target_acc=float(q.get("target", base.target_acc)))
    except (KeyError, ValueError, TypeError) as e:
        raise LabError("race.bad_link", error=str(e)) from None
    cfg.validate()  # two to eight contenders
    return cfg


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value) if isinstance(value, float) else str(value)  # repr: the shortest exact float


def _diff(prefix: str, value: Any, default: Any, skip: set[str] = frozenset()) -> dict[str, str]:
    return {f"{prefix}.{f.name}": _text(getattr(value, f.name)) for f in fields(value)
            if f.name not in skip and getattr(value, f.name) != getattr(default, f.name)}


def _apply(prefix: str, default: Any, q: Mapping[str, str]) -> Any:
    """`default` with every `prefix.<field>` parameter of `q`, each parsed as that field's type."""
    changes = {}
    for f in fields(default):
        text = q.get(f"{prefix}.{f.name}")
        if text is not None and f.name != "name":
            kind = type(getattr(default, f.name))
            changes[f.name] = text == "1" if kind is bool else kind(text)
    return replace(default, **changes)
