"""A playground setup as flat fields and as URL query parameters, so a teacher can prepare links before class.

`to_fields` lists every setting under one flat key ('surface', 'x', 'steps', 'adam.on', 'adam.lr',
'adam.bias_correction', 'eta'...); the page names its widgets after these keys. `to_query` writes only
what differs from the surface's defaults, as readable text:
`?surface=ravine&on=sgd,momentum&sgd.lr=0.9&momentum.momentum=0.5&eta=0.2`. Reading is forgiving: unknown
keys are ignored, unreadable values fall back to the default, and numbers are clamped or snapped to
what the page's sliders offer, so a hand-edited link can never break the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from labcore.playground.config import (
    EPS_CHOICES,
    LR_CHOICES,
    RANGES,
    STEPS_RANGE,
    WEIGHT_DECAY_CHOICES,
    PlaygroundConfig,
    default_config,
    nearest,
)
from labcore.playground.surfaces import SURFACES

NONE_ON = "-"  # `on=-`: every optimizer off (an empty value may not survive the address bar)
# Settings picked from a list; the other optimizer settings are sliders over RANGES.
CHOICES: dict[str, tuple[float, ...]] = {"lr": LR_CHOICES, "eps": EPS_CHOICES, "weight_decay": WEIGHT_DECAY_CHOICES}


def to_fields(cfg: PlaygroundConfig) -> dict[str, Any]:
    fields: dict[str, Any] = {"surface": cfg.surface, "x": cfg.start[0], "y": cfg.start[1], "steps": cfg.steps}
    for setup in cfg.optimizers:
        fields[f"{setup.name}.on"] = setup.enabled
        for option in setup.options():
            fields[f"{setup.name}.{option}"] = getattr(setup.config, option)
        if setup.name == "adam":
            fields["adam.bias_correction"] = setup.bias_correction
    fields["eta"] = cfg.book_lr
    return fields


def from_fields(fields: Mapping[str, Any]) -> PlaygroundConfig:
    """The config the fields describe; a missing field keeps the surface's default."""
    base = default_config(fields.get("surface", default_config().surface))
    setups = []
    for s in base.optimizers:
        options = {o: fields.get(f"{s.name}.{o}", getattr(s.config, o)) for o in s.options()}
        setups.append(replace(s, config=replace(s.config, **options), enabled=bool(fields.get(f"{s.name}.on", s.enabled)),
                              bias_correction=bool(fields.get(f"{s.name}.bias_correction", s.bias_correction))))
    start = (float(fields.get("x", base.start[0])), float(fields.get("y", base.start[1])))
    return replace(base, start=start, steps=int(fields.get("steps", base.steps)), optimizers=tuple(setups),
                   book_lr=float(fields.get("eta", base.book_lr)))


def to_query(cfg: PlaygroundConfig) -> dict[str, str]:
    fields, defaults = to_fields(cfg), to_fields(default_config(cfg.surface))
    query = {"surface": cfg.surface}
    on = [s.name for s in cfg.enabled()]
    if on != [s.name for s in default_config(cfg.surface).enabled()]:
        query["on"] = ",".join(on) or NONE_ON
    for key, value in fields.items():
        if key not in query and not key.endswith(".on") and value != defaults[key]:
            query[key] = _text(value)
    return query


def from_query(query: Mapping[str, str]) -> PlaygroundConfig:
    surface = query.get("surface", "")
    defaults = to_fields(default_config(surface if surface in SURFACES else default_config().surface))
    fields = dict(defaults)
    for key, default in defaults.items():
        if key in query and key != "surface" and not key.endswith(".on"):
            fields[key] = _read(key, query[key], default, defaults["surface"])
    if "on" in query:
        shown = set(query["on"].split(","))
        fields.update({key: key[: -len(".on")] in shown for key in defaults if key.endswith(".on")})
    return from_fields(fields)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    # repr is the shortest text that reads back as the very same number: 0.001, 1e-05, -1.5, 300
    return repr(value)


def _read(key: str, raw: str, default: Any, surface: str) -> Any:
    """`raw` as the type of `default`, within what the page's widget for `key` accepts."""
    if isinstance(default, bool):
        return raw != "0" if raw in ("0", "1") else default
    try:
        value = float(raw)
    except ValueError:
        return default
    if not math.isfinite(value):
        return default
    option = key.rsplit(".", 1)[-1]
    x0, x1, y0, y1 = SURFACES.get(surface).box
    if option in CHOICES:
        return nearest(CHOICES[option], value)
    if key == "steps":
        lo, hi, step = STEPS_RANGE
        return int(min(max(round(value / step) * step, lo), hi))
    lo, hi = {"x": (x0, x1), "y": (y0, y1), "eta": RANGES["book_lr"][:2]}.get(key) or RANGES[option][:2]
    return min(max(value, lo), hi)
