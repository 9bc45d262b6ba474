"""AppTest: the Neurons and losses page (lessons 2 and 3). Every panel draws without an exception, its widgets
offer exactly what its link offers, a hand-edited link lands on the nearest valid setup, and the backpropagation
stepper and its finite-difference check work. Nothing trains in the background (the depth panel's tiny net
trains in the page run, well under a second)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from labcore import links
from labcore.basics.backprop import HIDDEN
from labcore.basics.neurons import ACTIVATIONS
from tests.app.conftest import assert_widgets_offer_the_link, open_linked

PAGE = "views/neurons.py"


def _open(**query: str) -> AppTest:
    return open_linked(PAGE, **query)


def _charts(at: AppTest) -> list[str]:
    return [c.proto.id for c in at.get("plotly_chart")]


@pytest.fixture(scope="module")
def page() -> AppTest:
    return _open()


def test_every_panel_draws_and_the_widgets_offer_what_the_link_offers(page):
    at = page
    assert [t.label for t in at.tabs] == ["Perceptron", "Activations", "Depth", "Universal approximation", "Losses",
                                          "Backpropagation", "ML vs DL"]
    # perceptron, activation, depth, loss, cross-entropy, graph; ML vs DL: features, shuffled images, loop, batch
    assert len(_charts(at)) == 10
    values, _ = links.read("neurons", {})
    assert_widgets_offer_the_link(at, "neurons", "nr.", skip=("panel", "approx.points"))  # points: "your points" only
    text = " ".join(m.value for m in at.markdown)
    assert "F.cross_entropy on the logits gives **0.3490**" in text  # −log softmax(2, 1, −1)[0] = −log 0.7054


def test_every_activation_and_hidden_activation_draws(page):
    at = page
    for name in ACTIVATIONS:
        at.selectbox(key="nr.act.name").set_value(name).run()
        assert not at.exception, (name, at.exception)
        assert at.query_params.get("act.name", "sigmoid") == name
    at.slider(key="nr.act.x").set_value(5.0).run()
    at.selectbox(key="nr.act.name").set_value("sigmoid").run()
    assert any("below 0.01 once |x| > 4.6" in w.value for w in at.warning)
    for hidden in HIDDEN:
        at.selectbox(key="nr.bp.hidden").set_value(hidden).run()
        assert not at.exception, (hidden, at.exception)
    at.toggle(key="nr.depth.relu").set_value(True).run()
    assert not at.exception
    assert any("no single matrix" in i.value for i in at.info)
    assert at.query_params["depth.relu"] == "1"


def test_backprop_steps_and_finite_differences():
    at = _open(panel="backprop")
    assert at.session_state["nr.panel"] == "backprop"
    assert at.session_state["nr.tab"] == "Backpropagation"
    assert at.slider(key="nr.bp.step").value == 0
    for _ in range(9):
        at.button(key="nr.next").click().run()
    assert at.slider(key="nr.bp.step").value == 9 and at.query_params["bp.step"] == "9"
    assert any("backward pass" in m.value for m in at.markdown)
    at.button(key="nr.prev").click().run()
    assert at.slider(key="nr.bp.step").value == 8
    at.button(key="nr.fd").click().run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 9
    assert any("agree with backpropagation" in s.value for s in at.success)


def test_a_hand_edited_link_lands_on_the_nearest_valid_setup():
    query = {"perceptron.w1": "99", "act.name": "nope", "bp.step": "-4", "loss.yhat": "nan", "ce.true": "7",
             "depth.layers": "2.6", "panel": "x"}
    at = _open(**query)
    assert at.slider(key="nr.perceptron.w1").value == 3.0  # clamped to the slider's end
    assert at.slider(key="nr.bp.step").value == 0
    assert at.slider(key="nr.depth.layers").value == 3
    assert at.selectbox(key="nr.ce.true").value == 2
    assert at.selectbox(key="nr.act.name").value == "sigmoid"
    assert at.session_state["link_ignored"] == links.read("neurons", query)[1]
    assert {"act.name", "loss.yhat", "panel"} <= set(at.session_state["link_ignored"])
    assert [w.value for w in at.warning if "cannot use" in w.value]
    assert at.session_state["nr.panel"] == "perceptron"


def test_the_page_in_hebrew():
    at = _open(lang="he", panel="losses", **{"loss.yhat": "0.01"})
    assert at.session_state["nr.panel"] == "losses"
    assert at.slider(key="nr.loss.yhat").value == 0.01
    assert at.warning  # the confident mistake


def _approximation(at: AppTest, timeout: float = 60.0) -> AppTest:
    """Rerun until the approximation tab's background fit has been drawn."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        at.run()
        assert not at.exception, at.exception
        if "mean squared error" in " ".join(m.value for m in at.markdown):
            return at
        time.sleep(0.2)
    raise AssertionError("the fit was not drawn")


def test_universal_approximation_fits_more_closely_with_more_neurons():
    at = _open(panel="approximation", **{"approx.target": "wiggle", "approx.width": "2"})
    text = lambda: " ".join(m.value for m in _approximation(at).markdown)  # noqa: E731
    narrow = float(text().split("mean squared error ")[1].split()[0])
    at.select_slider(key="nr.approx.width").set_value(32)
    wide = float(text().split("mean squared error ")[1].split()[0])
    assert wide < narrow / 10, (narrow, wide)
    at.toggle(key="nr.approx.deep").set_value(True)
    shown = text()
    assert "32 neurons · 97 weights" in shown and "8 × 8 × 8 neurons" not in shown and " × " in shown


def test_typed_points_are_read_or_refused_in_words():
    at = _open(panel="approximation", **{"approx.target": "points"})
    _approximation(at)
    at.text_input(key="nr.approx.points").set_value("0 1, 0 2, nan 3").run()
    assert not at.exception and "cannot be read" in at.warning[0].value
    at.text_input(key="nr.approx.points").set_value("-2 1, 0 -1, 2 1")
    _approximation(at)
    assert not at.warning


def test_too_few_weights_for_a_deeper_net_is_said_not_faked():
    at = _open(panel="approximation", **{"approx.width": "2", "approx.deep": "1"})
    _approximation(at)
    assert any("no deeper net to compare" in i.value for i in at.info)
    assert " × " not in " ".join(m.value for m in at.markdown)
