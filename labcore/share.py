"""Configs <-> URL query parameters, so a teacher can prepare a link that opens a page set up.

Works for any dataclass whose fields are plain values or dataclasses of plain values:
`RunConfig().with_(optim={"lr": 0.1})` becomes `{"optim.lr": "0.1"}` (only what differs from the
defaults, to keep links short). Unknown keys and unparsable values are ignored, never fatal: a
hand-edited link must not crash the page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def to_query(cfg: Any, default: Any | None = None) -> dict[str, str]:
    """Flatten `cfg` to {"group.field": "value"}, keeping only values that differ from `default`."""
    default = default if default is not None else type(cfg)()
    out: dict[str, str] = {}
    for name, value, base in _leaves(cfg, default):
        if value != base:
            out[name] = _format(value)
    return out


def from_query(cls: type[T], params: Mapping[str, str], base: T | None = None) -> T:
    """Rebuild a `cls` from query parameters on top of `base` (defaults when None)."""
    base = base if base is not None else cls()
    return _rebuild(base, dict(params), "")


def _leaves(obj: Any, default: Any, prefix: str = ""):
    for f in dataclasses.fields(obj):
        value, base = getattr(obj, f.name), getattr(default, f.name)
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from _leaves(value, base, f"{name}.")
        else:
            yield name, value, base


def _rebuild(obj: Any, params: dict[str, str], prefix: str) -> Any:
    changes = {}
    for f in dataclasses.fields(obj):
        value, name = getattr(obj, f.name), f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            changes[f.name] = _rebuild(value, params, f"{name}.")
        elif name in params:
            parsed = _parse(params[name], value)
            if parsed is not None:
                changes[f.name] = parsed
    return dataclasses.replace(obj, **changes)


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _parse(text: str, like: Any) -> Any:
    """Parse `text` as the type of `like`; None when it does not parse (or is not finite)."""
    try:
        if isinstance(like, bool):
            return text.lower() in ("1", "true", "yes", "on")
        if isinstance(like, int):
            return int(float(text))
        if isinstance(like, float):
            v = float(text)
            return v if v == v and abs(v) != float("inf") else None
        return str(text)[:100]
    except (TypeError, ValueError, OverflowError):
        return None
