"""Configs <-> URL query parameters, so a teacher can prepare a link that opens a page set up.

Works for any dataclass whose fields are plain values or dataclasses of plain values:
`RunConfig().with_(optim={"lr": 0.1})` becomes `{"optim.lr": "0.1"}` (only what differs from the
defaults, to keep links short). Unknown keys and unparsable values are ignored, never fatal: a
hand-edited link must not crash the page.

Page links (second half): `Param`, `read` and `write` hold a link to exactly what a page's widgets offer
(labcore.links has one schema per page) and name what they could not use.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
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


# -- page links: what a link may set, exactly what the page's widgets offer ------------------------------------
# A page describes its link as a schema: a generator of `Param`s that may look at the values read so far (the
# models offered depend on the dataset, an optimizer's options on the optimizer...). `read` turns any query
# into valid values plus the names it could not use; `write` turns values back into a short query.

NONE = "-"  # an empty list (every item switched off): an empty value may not survive the address bar
MAX_TEXT = 200  # longer values are junk, not settings
HUGE = 1e9  # no widget goes near this: numbers this big are junk, not "the maximum"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Param:
    """One setting a link may carry, with exactly the values the page's widget for it offers.

    `choices`: a selectbox, radio or select_slider (numbers snap to the nearest choice, text must match);
    `lo`/`hi`/`step`: a slider or number input (clamped, rounded to the step); `many`: a multiselect (a
    comma-separated subset of `choices`, at most `most` items); a bool default: a toggle; a text default without
    `choices`: a text input (any printable ASCII up to MAX_TEXT characters, stripped; the page checks the rest).
    `always`: written into the link even when it equals the default. A default of None means "absent unless the
    link names it".
    """

    name: str
    default: Any
    choices: tuple = ()
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    many: bool = False
    most: int | None = None
    always: bool = False


Schema = Callable[[Mapping[str, Any]], Iterable[Param]]


class _Invalid:
    pass


INVALID = _Invalid()


def read(schema: Schema, query: Mapping[str, Any], skip: Iterable[str] = ()) -> tuple[dict[str, Any], list[str]]:
    """Valid values for every param of `schema` (the link's where usable, else the default) and the names of
    the link's params that could not be used: unknown names, names this setup has no widget for, bad values.
    Names in `skip` (the global params) are neither read nor reported."""
    q = {str(k): _last(v) for k, v in query.items()}
    values: dict[str, Any] = {}
    seen, ignored = set(skip), []
    for p in schema(values):
        seen.add(p.name)
        value = INVALID if p.name not in q else parse(p, q[p.name])
        if value is INVALID:
            if p.name in q:
                ignored.append(p.name)
            value = fit(p, p.default)
        values[p.name] = value
    return values, ignored + [k for k in q if k not in seen]


def write(schema: Schema, values: Mapping[str, Any]) -> dict[str, str]:
    """`values` as query params: only the schema's params, only those that differ from their default."""
    out: dict[str, str] = {}
    for p in schema(values):
        value = values.get(p.name)
        if value is None:
            continue
        text = text_of(value)
        if p.always or text != text_of(fit(p, p.default)):
            out[p.name] = text
    return out


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, tuple | list):
        return ",".join(map(text_of, value)) or NONE
    return str(value)


def parse(p: Param, raw: Any) -> Any:
    """`raw` (text from a URL) as a value `p`'s widget can hold, or INVALID."""
    text = _clean(raw)
    if text is None:
        return INVALID
    if p.many:
        items = [] if text == NONE else text.split(",")
        picked = [_choice(p.choices, item) for item in items]
        if any(v is INVALID for v in picked):
            return INVALID
        picked = list(dict.fromkeys(picked))
        return INVALID if p.most is not None and len(picked) > p.most else tuple(picked)
    if isinstance(p.default, str) and not p.choices:  # free text (a typed kernel): any short printable ASCII
        return text
    if isinstance(p.default, bool):
        low = text.lower()
        return True if low in _TRUE else False if low in _FALSE else INVALID
    if p.choices and not _numeric(p.choices):
        return _choice(p.choices, text)
    try:
        number = float(text)
    except ValueError:
        return INVALID
    floor = min(p.choices) if p.choices else p.lo
    if not math.isfinite(number) or abs(number) >= HUGE or (number < 0 and floor is not None and floor >= 0):
        return INVALID
    return fit(p, number)


def fit(p: Param, value: Any) -> Any:
    """The value `p`'s widget would show for `value` (a default, or a number already parsed)."""
    if value is None or isinstance(value, bool):
        return value
    if p.many:
        return tuple(v for v in dict.fromkeys(value) if v in p.choices)[: p.most]
    if p.choices:
        if _numeric(p.choices) and isinstance(value, int | float):
            return nearest(p.choices, value)
        return value if value in p.choices else p.choices[0]
    if p.lo is not None and p.hi is not None:
        value = min(max(float(value), p.lo), p.hi)
        if p.step:
            value = min(max(p.lo + round((value - p.lo) / p.step) * p.step, p.lo), p.hi)
        value = round(value, 10)
    if isinstance(p.default, int) and not isinstance(p.default, bool):
        return int(round(value))
    return float(value) if isinstance(p.default, float) else value


def nearest(choices: Sequence[float], value: float) -> float:
    """The choice closest to `value` relative to its size (so 3e-4 goes to 2e-4 or 5e-4, not to 0)."""
    if value in choices:
        return next(c for c in choices if c == value)
    return min(choices, key=lambda c: abs(value - c) / max(abs(value), abs(c), 1e-300))


def valid(p: Param, value: Any) -> bool:
    """Whether `value` is one the page's widget for `p` can hold (tests check every value `read` returns)."""
    if value is None:
        return p.default is None
    if p.many:
        return isinstance(value, tuple) and all(v in p.choices for v in value) and len(set(value)) == len(value) \
            and (p.most is None or len(value) <= p.most)
    if isinstance(p.default, bool):
        return isinstance(value, bool)
    if isinstance(p.default, str) and not p.choices:
        return isinstance(value, str) and _clean(value) == value
    if p.choices:
        return value in p.choices
    if p.lo is not None and p.hi is not None:
        return p.lo <= value <= p.hi
    return True


def _numeric(choices: tuple) -> bool:
    return all(isinstance(c, int | float) and not isinstance(c, bool) for c in choices)


def _choice(choices: tuple, text: str) -> Any:
    # a link writes 1.0 as "1" (text_of); str() spellings are read too
    return next((c for c in choices if text in (text_of(c), str(c))), INVALID)


def _last(value: Any) -> Any:
    """st.query_params may hand over a list for a repeated name: the last one counts."""
    if isinstance(value, list | tuple):
        return value[-1] if value else ""
    return value


def _clean(raw: Any) -> str | None:
    if not isinstance(raw, str) or len(raw) > MAX_TEXT or not raw.isascii() or not raw.isprintable():
        return None
    return raw.strip()
