"""The course map: every lesson in order, every preset points at a real page and survives its page's link format."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from labcore import links, presets, share
from labcore.config import RunConfig
from labcore.i18n import has
from labcore.playground import share as playground_share
from labcore.presets import LESSONS, PAGES, PARTS, PRESETS, SHOWN, link, page_script, presets_for
from labcore.train import race_setup

ROOT = Path(__file__).resolve().parents[2]
MAIN = (ROOT / "app" / "main.py").read_text(encoding="utf-8")
TRAIN, PLAYGROUND, RACE = presets._train(), presets._playground(), presets._race()


def test_every_page_is_registered_in_main_and_has_a_file():
    registered = set(re.findall(r'url_path="([a-z-]+)"', MAIN))
    assert set(PAGES) <= registered
    for page in PAGES:
        assert (ROOT / "app" / page_script(page)).is_file()
        assert f'VIEWS / "{page_script(page).removeprefix("views/")}"' in MAIN


def test_presets_have_unique_slugs_real_pages_and_known_lessons():
    ids = [p.id for p in PRESETS]
    assert len(ids) == len(set(ids))
    assert 25 <= len(PRESETS) <= 110
    known = {x.id for x in LESSONS}
    for p in PRESETS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", p.id), p.id
        assert p.id != "help"  # presets.help is the table of help texts
        assert p.page in PAGES, p
        assert p.lesson in known and set(p.also) <= known and p.lesson not in p.also, p
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in p.query.items()), p


def test_the_lessons_come_in_the_books_order_with_the_seed_lessons_beside_theirs():
    ids = [x.id for x in LESSONS]
    assert [i for i in ids if i.isdigit()] == [str(n) for n in range(1, 24)]
    assert ids.index("transfer") == ids.index("19") + 1
    assert ids.index("12") < ids.index("tricks") < ids.index("13")
    assert [i for _, part in PARTS for i in part] == ids
    assert {x.status for x in LESSONS} <= {presets.SHOWN, presets.PARTLY, presets.NOT_YET}


def test_every_shown_lesson_has_a_demonstration():
    for lesson in LESSONS:
        if lesson.status == SHOWN:
            assert presets_for(lesson.id), lesson.id
    assert presets_for("2")[0].lesson == "2"  # own presets first, shared ones after


def test_catalogue_has_every_text():
    for lesson in LESSONS:
        keys = [lesson.title_key, lesson.show_key, f"syllabus.part_{lesson.part}", f"syllabus.status_{lesson.status}"]
        keys += [lesson.missing_key] if lesson.missing_key else []
        assert all(has(k) for k in keys), [k for k in keys if not has(k)]
    for p in PRESETS:
        assert has(p.title_key) and has(p.help_key), p.id


@pytest.mark.parametrize(("pid", "lesson", "cfg", "also"), TRAIN, ids=[t[0] for t in TRAIN])
def test_train_presets_round_trip(pid, lesson, cfg, also):
    query = presets.BY_ID[pid].query
    assert query == share.to_query(cfg)
    assert share.from_query(RunConfig, query) == cfg


@pytest.mark.parametrize(("pid", "lesson", "cfg", "also"), PLAYGROUND, ids=[t[0] for t in PLAYGROUND])
def test_playground_presets_round_trip(pid, lesson, cfg, also):
    query = presets.BY_ID[pid].query
    assert playground_share.from_query(query) == cfg
    assert playground_share.to_query(playground_share.from_query(query)) == query


@pytest.mark.parametrize(("pid", "lesson", "cfg", "also"), RACE, ids=[t[0] for t in RACE])
def test_race_presets_round_trip(pid, lesson, cfg, also):
    query = presets.BY_ID[pid].query
    assert race_setup.from_query(query) == cfg
    cfg.validate()


def test_link_is_the_url_path_and_its_params():
    p = presets.BY_ID["xor-mlp"]
    url = urlsplit(link(p, lang="he"))
    assert url.path == "train"
    assert dict(parse_qsl(url.query)) == {**p.query, "lang": "he"}
    assert link(presets.BY_ID["explain-attributions"]) == "explain"
    assert dict(parse_qsl(urlsplit(link(presets.BY_ID["surface-ravine"])).query))["on"] == "sgd,momentum,nesterov"


@pytest.mark.parametrize("preset", PRESETS, ids=[p.id for p in PRESETS])
def test_every_param_is_one_the_pages_link_schema_reads(preset):
    values, ignored = links.read(preset.page, preset.query)
    assert not ignored, f"{preset.page} cannot use {ignored}"
    assert links.read(preset.page, links.write(preset.page, values))[0] == values  # nothing lost on the way back


@pytest.mark.parametrize("preset", [p for p in PRESETS if p.page not in ("train", "playground", "race")],
                         ids=lambda p: p.id)
def test_schema_presets_name_only_what_differs_from_the_page_defaults(preset):
    assert links.write(preset.page, links.read(preset.page, preset.query)[0]) == dict(preset.query)
