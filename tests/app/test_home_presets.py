"""AppTest: the Home page is the course map, and every preset opens its page set up, using all its params.

Nothing trains here: a preset page only draws its setup.
"""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from labcore import links
from labcore.i18n import t
from labcore.presets import BY_ID, LESSONS, PAGES, PRESETS, link, page_script, presets_for
from tests.app.conftest import open_page


def _setup(page: str, query) -> dict:
    """What a link sets on `page`, read with the page's own link schema (lang and present aside)."""
    return links.read(page, {k: v for k, v in query.items() if k not in links.GLOBALS})[0]


@pytest.fixture(scope="module", autouse=True)
def _module_caches():
    """One cache for the module (the Explain page trains its quick model once); jobs never leak out."""
    st.cache_resource.clear()
    yield
    from app.state import registry

    registry().stop_all(wait=2)
    st.cache_resource.clear()


def _labels(at: AppTest) -> list[str]:
    """The lessons' expanders (not the "This computer" one at the bottom)."""
    return [e.label for e in at.expander if e.label != t("home.system_title")]


def _links(at: AppTest) -> list[tuple[str, str]]:
    return [(el.proto.page, el.proto.query_string) for el in at.get("page_link")]


def test_home_lists_every_lesson_in_order_with_its_demonstrations():
    at = open_page()
    labels = _labels(at)
    assert len(labels) == len(LESSONS)
    for label, lesson in zip(labels, LESSONS, strict=True):
        assert t(lesson.title_key) in label
        if lesson.number is not None:
            assert label.startswith(f"{lesson.number}. ")
    demos = [(p.page, link(p).partition("?")[2]) for x in LESSONS for p in presets_for(x.id)]
    assert _links(at)[: len(demos)] == demos
    assert len(_links(at)) == len(demos) + len(PAGES)  # + a card per page
    text = " ".join(m.value for m in at.markdown)
    assert "Not in the lab yet: the speed-up of float16 on a GPU's tensor cores" in text  # lesson 18


def test_home_links_keep_the_language_and_presentation_mode():
    at = open_page(lang="uk", present="1")
    for page, query in _links(at):
        assert query.endswith("lang=uk&present=1"), (page, query)


@pytest.mark.parametrize("preset", PRESETS, ids=[p.id for p in PRESETS])
def test_preset_opens_its_page_with_every_param_used(preset):
    at = open_page(page_script(preset.page), **preset.query)
    ignored = at.session_state["link_ignored"] if "link_ignored" in at.session_state else []
    assert not ignored, f"the page ignored {ignored}"
    # the link the page writes back describes the very same setup
    assert _setup(preset.page, at.query_params) == _setup(preset.page, preset.query)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("digits-cnn", "xor-mlp"),
        ("surface-rosenbrock", "surface-ravine"),
        ("race-optimizers", "race-lion-vs-adamw"),
        ("ae-vae", "ae-anomaly"),
    ],
)
def test_a_preset_applies_when_its_page_was_open_before(first, then):
    """Home opens presets with st.page_link: the same session comes back to a page it has set up before, with a
    new link, and the page must follow the link rather than keep its last setup."""
    a, b = (BY_ID[first], BY_ID[then])
    at = open_page(page_script(a.page), **a.query)
    at.switch_page("views/home.py").run()
    at.query_params.clear()
    at.query_params.update(b.query)
    at.switch_page(page_script(b.page)).run()
    assert not at.exception, at.exception
    assert _setup(b.page, at.query_params) == _setup(b.page, b.query)
