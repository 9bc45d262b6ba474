"""AppTest: the Training tricks page. The init explorer draws without an exception, its widgets offer exactly what
its link offers, a preset's link lands on its setup, and changing a widget changes the numbers in the text."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from labcore import links
from labcore.i18n import t
from labcore.presets import BY_ID
from tests.app.conftest import assert_widgets_offer_the_link, open_linked, poll

PAGE = "views/tricks.py"


def _open(**query: str) -> AppTest:
    return open_linked(PAGE, **query)


def _notes(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown if "**Gradient:**" in m.value)


@pytest.fixture(scope="module")
def page() -> AppTest:
    return _open()


def test_the_explorer_draws_and_its_widgets_offer_what_the_link_offers(page):
    at = page
    assert [t.label for t in at.tabs] == ["Initialisation", "Comparisons"]
    assert len(at.get("plotly_chart")) == 3  # the std panels, the histograms and the (empty) comparison race
    assert_widgets_offer_the_link(at, "tricks", "tk.")


def test_changing_a_widget_changes_the_numbers(page):
    at = page
    before = _notes(at)
    assert "Gradient:" in before and "layer 20" in before
    at.selectbox(key="tk.init.scheme").set_value("small").run()
    assert not at.exception, at.exception
    after = _notes(at)
    assert after != before and "shrinks" in after
    assert at.query_params["init.scheme"] == "small"
    at.slider(key="tk.init.depth").set_value(5).run()
    assert "layer 5" in _notes(at) and at.query_params["init.depth"] == "5"
    at.selectbox(key="tk.init.scheme").set_value("zeros").run()
    assert not at.exception, at.exception
    assert "exactly 0 in every hidden layer" in _notes(at)
    for act in ("sigmoid", "relu"):
        for init in ("large", "xavier", "he"):
            at.selectbox(key="tk.init.scheme").set_value(init).run()
            at.segmented_control(key="tk.init.act").set_value(act).run()
            assert not at.exception, (init, act, at.exception)


def test_presets_open_their_setup():
    at = _open(**BY_ID["init-he-relu"].query)
    assert at.session_state["link_ignored"] == []
    assert at.selectbox(key="tk.init.scheme").value == "he"
    assert at.segmented_control(key="tk.init.act").value == "relu"
    assert at.slider(key="tk.init.depth").value == 50
    assert "layer 50" in _notes(at)


def test_a_bad_depth_in_a_link_is_refused_cleanly():
    at = _open(**{"init.depth": "nan", "init.width": "100000"})
    assert at.slider(key="tk.init.depth").value == 20
    assert "init.depth" in at.session_state["link_ignored"]
    assert any("settings the page cannot use" in w.value for w in at.warning)


def test_train_it_trains_the_chosen_net_in_the_background(fresh_registry):
    at = _open(**{"init.scheme": "xavier", "init.depth": "3", "init.width": "64"})
    assert not any("Mean loss in the first epoch" in m.value for m in at.markdown)  # nothing runs unasked
    at.button(key="tk.train.go").click().run()
    poll(at, lambda a: any("Mean loss in the first epoch" in m.value for m in a.markdown))
    result = next(m.value for m in at.markdown if "Mean loss in the first epoch" in m.value)
    assert "test accuracy" in result
    assert len(at.get("plotly_chart")) == 4  # the std panels, the histograms, the training loss, the comparison
    at.slider(key="tk.init.depth").set_value(4).run()  # another setup: its result is not shown until asked
    assert not any("Mean loss in the first epoch" in m.value for m in at.markdown)


def test_the_page_in_every_language_and_with_all_zero_gradients():
    for lang in links.languages():
        at = _open(lang=lang, **{"init.scheme": "zeros", "init.act": "relu"})
        assert at.title[0].value == t("tricks.title", lang)
