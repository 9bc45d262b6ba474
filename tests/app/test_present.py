"""Presentation mode and language direction through the app: the toggle, the link, the charts."""

from __future__ import annotations

from tests.app.conftest import open_page


def _toggle(at):
    return at.toggle(key="present")


def test_link_turns_presentation_on_and_the_toggle_writes_the_link():
    at = open_page(present="1")
    assert _toggle(at).value is True
    assert any("font-size: 20px" in h.proto.body for h in at.get("html"))
    _toggle(at).set_value(False).run()
    assert not at.exception, at.exception
    assert at.query_params.get("present") in (None, [])
    assert not any("font-size: 20px" in h.proto.body for h in at.get("html"))
    _toggle(at).set_value(True).run()
    assert at.query_params.get("present") in ("1", ["1"])


def test_charts_are_localised_on_the_way_out():
    at = open_page("views/train.py", present="1", lang="he")
    chart = at.get("plotly_chart")[0]
    spec = chart.proto.spec
    assert "\u202b" in spec or "\\u202b" in spec  # Hebrew labels embedded right to left
    assert '"size":17.6' in spec  # 13 px * 1.35: presentation fonts


def test_the_language_menu_wins_over_the_link_it_came_from():
    at = open_page(lang="he")  # Home: a page that writes no setup of its own into the link
    assert at.session_state["lang"] == "he"
    at.selectbox(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    assert at.session_state["lang"] == "en" and "lang" not in at.query_params


def test_presenting_puts_the_rarely_needed_train_panels_behind_one_expander():
    labels = lambda at: [e.label for e in at.expander]  # noqa: E731
    plain = open_page("views/train.py")
    assert "Find a good learning rate" in labels(plain)
    assert "More controls" not in labels(plain)
    shown = open_page("views/train.py", present="1")
    assert "More controls" in labels(shown)
    assert len(labels(shown)) == len(labels(plain)) - 1  # two expanders became one
