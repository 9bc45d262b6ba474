"""The text catalogue: every key the code uses exists, placeholders are well formed, languages fall back."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from labcore import i18n
from labcore.i18n import DEFAULT_LANG, LabError, has, is_rtl, languages, t
from labcore.train.job import ACTIVE, ENDED

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "labcore").rglob("*.py"), *(ROOT / "app").rglob("*.py")])
TRANSLATORS = {"t", "tr", "LabError"}  # t("key"), tr("key") in app/, i18n.t("key"), LabError("key", ...)


CATALOGUES = {p.stem: i18n._catalogue(p.stem) for p in sorted(i18n.LOCALES.glob("*.toml"))}
ENGLISH = CATALOGUES[DEFAULT_LANG]


def _calls(source: str) -> list[tuple[int, str, bool]]:
    """(line, key, is_prefix) for every translator call whose first argument is a (f-)string literal.

    Parsed, not grepped, so examples in docstrings and comments do not count.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        name = (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        )
        if name not in TRANSLATORS:
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.append((node.lineno, arg.value, False))
        elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
            found.append((node.lineno, arg.values[0].value, True))
    return found


def _used_keys() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(literal keys, f-string prefixes), each mapped to the places that use it."""
    literal: dict[str, list[str]] = {}
    prefixes: dict[str, list[str]] = {}
    for path in SOURCES:
        for line, key, is_prefix in _calls(path.read_text(encoding="utf-8")):
            where = f"{path.relative_to(ROOT)}:{line}"
            (prefixes if is_prefix else literal).setdefault(key, []).append(where)
    return literal, prefixes


def test_the_key_scan_finds_the_known_uses():
    literal, _ = _used_keys()
    assert {"data.offline", "train.diverged", "engine.queue_full"} <= set(literal)


def test_every_job_kind_has_words_for_an_unexpected_failure():
    from labcore.engine import Job
    from labcore.tasks import Task

    for kind in (Job, Task):
        assert has(kind.failure_key), kind
    sample = '''"""Docstring: t("not.a.call")."""
raise LabError("a.b", x=1)
i18n.t('c.d')
tr(f"status.{s}")
st("e.f")
print("g.h")
'''
    assert sorted(_calls(sample)) == [(2, "a.b", False), (3, "c.d", False), (4, "status.", True)]


def test_every_key_used_in_the_code_exists_in_english():
    literal, prefixes = _used_keys()
    missing = {key: places for key, places in literal.items() if key not in ENGLISH}
    assert not missing, f"keys missing from locales/en.toml: {missing}"
    orphan = {p: places for p, places in prefixes.items() if not any(k.startswith(p) for k in ENGLISH)}
    assert not orphan, f"no catalogue key starts with these f-string prefixes: {orphan}"


def test_every_job_status_has_a_label_when_the_app_shows_statuses():
    _, prefixes = _used_keys()
    if "status." not in prefixes:
        pytest.skip("the app does not translate job statuses by key")
    assert [s for s in (*ACTIVE, *ENDED) if f"status.{s}" not in ENGLISH] == []


@pytest.mark.parametrize("lang", sorted(CATALOGUES))
def test_placeholders_are_well_formed(lang):
    for key, text in CATALOGUES[lang].items():
        assert isinstance(text, str) and text.strip(), f"{lang}:{key} is empty or not text"
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name is not None]
        for name, _ in fields:
            assert name.isidentifier(), f"{lang}:{key} has a positional or odd placeholder {{{name}}}"
        values = {name: 1.5 if spec else "x" for name, spec in fields}
        text.format(**values)  # raises on a bad format spec
        if lang != DEFAULT_LANG and key in ENGLISH:
            english = {n for _, n, _, _ in string.Formatter().parse(ENGLISH[key]) if n}
            assert {n for n, _ in fields} <= english, f"{lang}:{key} uses placeholders English does not pass"


@pytest.mark.parametrize("lang", ["he", "fa", "uk"])
def test_the_course_languages_are_complete(lang):
    """Hebrew, Persian and Ukrainian have every English key, with the same placeholders (format specs too)."""
    assert lang in CATALOGUES, f"locales/{lang}.toml is missing"
    table = CATALOGUES[lang]
    missing = sorted(set(ENGLISH) - set(table))
    assert not missing, f"{lang}.toml lacks {len(missing)} keys, e.g. {missing[:8]}"

    def fields(text: str) -> set[tuple[str, str]]:
        return {(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name is not None}

    broken = [k for k in ENGLISH if fields(table[k]) != fields(ENGLISH[k])]
    assert not broken, f"{lang}.toml changes the placeholders of {broken[:8]}"


def test_other_languages_only_translate_english_keys():
    for lang, table in CATALOGUES.items():
        assert set(table) <= set(ENGLISH), f"{lang}.toml has keys English lacks: {set(table) - set(ENGLISH)}"


def test_languages_start_with_english():
    langs = languages()
    assert langs[0] == "en" and len(langs) == len(set(langs))
    assert set(langs) == set(CATALOGUES)


def test_unknown_language_falls_back_to_english():
    english = t("data.offline", name="mnist", root="/data", reason="no network")
    assert t("data.offline", "xx", name="mnist", root="/data", reason="no network") == english
    assert "mnist" in english and "/data" in english and "no network" in english
    assert t("app.title", "xx") == t("app.title")


def test_missing_key_raises():
    with pytest.raises(KeyError, match="no.such.key"):
        t("no.such.key")
    assert has("app.title") and not has("no.such.key")


def test_partial_translation_falls_back_key_by_key(tmp_path, monkeypatch):
    (tmp_path / "en.toml").write_text('[a]\nhello = "Hello {name}"\nbye = "Bye"\n', encoding="utf-8")
    (tmp_path / "zz.toml").write_text('[a]\nhello = "Zdravo {name}"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    i18n._catalogue.cache_clear()
    try:
        assert languages() == ["en", "zz"]
        assert t("a.hello", "zz", name="Ana") == "Zdravo Ana"
        assert t("a.bye", "zz") == "Bye"
        assert t("a.hello", name="Ana") == "Hello Ana"
    finally:
        monkeypatch.undo()
        i18n._catalogue.cache_clear()
    assert has("app.title")


def test_lab_error_carries_key_and_params():
    err = LabError("engine.queue_full", waiting=2)
    assert err.key == "engine.queue_full" and err.params == {"waiting": 2}
    assert str(err) == err.message() == t("engine.queue_full", waiting=2)
    assert "2" in err.message("xx")


def test_right_to_left_languages():
    assert is_rtl("he") and is_rtl("fa") and not is_rtl("en")
