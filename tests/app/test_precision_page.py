"""AppTest: the Precision page (lesson 18). It opens cleanly, typing a number redraws its bits and values, hostile
text gives a message from the catalogue (never a traceback), and the loss-scaling and autocast tabs draw their
results from labcore.precision."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from labcore import links
from tests.app.conftest import open_linked, poll

PAGE = "views/precision.py"


def _open(**query: str) -> AppTest:
    return open_linked(PAGE, **query)


def _bits_text(at: AppTest) -> str:
    return " ".join(str(x) for x in at.dataframe[0].value.iloc[:, 1])


def _latex(at: AppTest) -> str:
    return " ".join(x.value for x in at.latex)


def test_the_page_opens_with_its_defaults_and_the_widgets_offer_what_the_link_offers():
    at = _open()
    assert [t.label for t in at.tabs] == ["Number formats", "Loss scaling", "Autocast here"]
    assert at.text_input(key="pr.number").value == "0.1"
    assert _bits_text(at) == "0x3DCCCCCD 0x2E66 0x3DCD"  # 0.1 in float32, float16, bfloat16
    assert "0.0999755859375" in _latex(at)
    scale = at.select_slider(key="pr.scale")
    assert scale.value == 1 and len(scale.options) == len(links.PRECISION_SCALES)
    assert dict(at.query_params) == {}
    assert not [m for m in at.markdown if m.value == "`None`"]  # no stray value written by Streamlit's magic


def test_typing_a_number_updates_the_bits_and_the_link():
    at = _open()
    at.text_input(key="pr.number").input("-2.5").run()
    assert not at.exception, at.exception
    assert _bits_text(at) == "0xC0200000 0xC100 0xC020"
    assert at.query_params["number"] == "-2.5"
    at.text_input(key="pr.number").input("1e-8").run()
    assert any("float16 rounds this number to zero" in w.value for w in at.warning)
    at.text_input(key="pr.number").input("70000").run()
    assert any("float16 cannot hold this number" in w.value for w in at.warning)
    at.text_input(key="pr.number").input("۱٫۵").run()  # Persian digits: the same number, written back in ASCII
    assert at.text_input(key="pr.number").value == "1.5" and at.query_params["number"] == "1.5"


@pytest.mark.parametrize(("text", "message"), [("abc", "That is not a number"), ("1e400", "beyond even float64"),
                                               ("nan", "NaN (not a number)"), ("", "Type a number")])
def test_hostile_text_shows_a_message(text, message):
    at = _open(number=text) if text else _open()
    if not text:
        at.text_input(key="pr.number").input("").run()
    assert not at.exception, at.exception
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    assert not at.dataframe  # no bits for text that is not a number


def test_hostile_text_in_hebrew():
    at = _open(number="abc", lang="he")
    assert any("זה לא מספר" in w.value for w in at.warning)


def test_loss_scaling_tab_trains_in_the_background_and_shows_the_measured_shares(fresh_registry):
    at = _open(panel="scaling", scale="4096")
    assert at.session_state["pr.tab"] == "Loss scaling"
    poll(at, lambda a: any(m.label == "Became zero" for m in a.metric), timeout=120)
    metrics = {(i // 3, m.label): m.value for i, m in enumerate(a for a in at.metric)}
    plain_sub, scaled_sub = float(metrics[0, "Subnormal"].rstrip("%")), float(metrics[1, "Subnormal"].rstrip("%"))
    assert plain_sub > 50 and scaled_sub < 5  # measured by the float16 backward, as labcore's tests check
    assert len(at.get("plotly_chart")) >= 2  # bits (first tab), histogram, GradScaler's scale


def test_autocast_tab_runs_only_when_asked():
    at = _open(panel="autocast")
    assert not [m for m in at.metric if "samples/s" in m.label]
    at.button(key="pr.run_amp").click().run()
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert "float32, samples/s" in labels and "bfloat16 autocast, samples/s" in labels and "Speed-up" in labels
