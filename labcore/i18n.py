"""The one catalogue of user-facing text: `t("train.start")` looks a key up in locales/<lang>.toml.

English is the reference; other languages fall back to it key by key, so a half-translated
catalogue still shows every label. Keys are dotted paths into the TOML tables.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).with_name("locales")
RTL_LANGUAGES = {"he", "fa", "ar"}
# Each language by its own name, for the language menu (a catalogue without one is listed by its code).
LANGUAGE_NAMES = {"en": "English", "he": "עברית", "fa": "فارسی", "uk": "Українська"}
DEFAULT_LANG = "en"


@cache
def _catalogue(lang: str) -> dict[str, str]:
    path = LOCALES / f"{lang}.toml"
    if not path.exists():
        return {}
    flat: dict[str, str] = {}

    def walk(prefix: str, table: dict) -> None:
        for key, value in table.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value)
            else:
                flat[name] = str(value)

    walk("", tomllib.loads(path.read_text(encoding="utf-8")))
    return flat


def languages() -> list[str]:
    """Languages that have a catalogue file, English first."""
    found = sorted(p.stem for p in LOCALES.glob("*.toml"))
    return [DEFAULT_LANG] + [lang for lang in found if lang != DEFAULT_LANG]


def has(key: str) -> bool:
    return key in _catalogue(DEFAULT_LANG)


def t(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """Translate `key`; missing keys raise in English (a typo must fail a test, not show raw keys)."""
    text = _catalogue(lang).get(key)
    if text is None:
        text = _catalogue(DEFAULT_LANG).get(key)
    if text is None:
        raise KeyError(f"no text for {key!r} in locales/{DEFAULT_LANG}.toml")
    return text.format(**fmt) if fmt else text


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, lang)


def is_rtl(lang: str) -> bool:
    return lang in RTL_LANGUAGES


class LabError(Exception):
    """An error a user should read: carries a catalogue key so the page can show it in any language."""

    def __init__(self, key: str, **params: object):
        self.key, self.params = key, params
        super().__init__(t(key, **params))

    def message(self, lang: str = DEFAULT_LANG) -> str:
        return t(self.key, lang, **self.params)
