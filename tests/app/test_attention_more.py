"""AppTest for the Attention page's lesson-11 extras: a typed sentence drives the maps and the prediction, the
causal-mask section, and the Positions tab (sinusoidal encoding, with / without positions experiment, link)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import open_linked, open_page, wait_done

pytestmark = pytest.mark.usefixtures("fresh_registry")


def _text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n" + "\n".join(c.value for c in at.caption)


def test_typed_sentence_drives_prediction_maps_and_the_causal_mask():
    at = open_page("views/attention.py")
    at.slider(key="att.text_epochs").set_value(6).run()
    at.button(key="att.text_job.train").click().run()
    wait_done(at, "att.text_job")
    assert "The words this model knows" in _text(at) and "solutions" in _text(at)
    assert any(s.value == "The causal mask" for s in at.subheader)
    assert "keeps its row" in _text(at)
    at.text_input(key="att.steps.typed").set_value("the books near the author [?] new").run()
    assert not at.exception and not at.warning
    said = _text(at)
    assert "`the books near the author [?] new` → the model says" in said and "the answer is" not in said
    assert at.selectbox(key="att.query.[CLS]|the|books|near|the|author|[?]|new").value == 6  # [?] by default
    at.selectbox(key="att.mask.layer").set_value(2).run()
    at.selectbox(key="att.mask.head").set_value(2).run()
    assert not at.exception
    at.text_input(key="att.steps.typed").set_value("the unicorns near the author [?] new").run()
    assert not at.exception and "unicorns" in at.warning[0].value
    at.text_input(key="att.steps.typed").set_value(" ".join(["the"] * 12)).run()
    assert not at.exception and "12 words" in at.warning[0].value


def test_positions_tab_draws_the_encoding_and_trains_with_and_without_positions():
    at = open_linked("views/attention.py", panel="positions", **{"pe.dim": "16", "pe.epochs": "4"})
    assert at.session_state["att.pe_dim"] == 16 and at.session_state["att.panel"] == "positions"
    assert "Train the Transformer on the Sentences tab" in "\n".join(i.value for i in at.info)
    assert "at best about" in _text(at)
    at.button(key="att.pe_job.train").click().run()
    wait_done(at, "att.pe_job")
    table = at.table[0].value
    assert list(table.iloc[:, 0]) == ["learned positions", "sinusoidal positions", "no positions"]
    assert "Without positions the model reached" in _text(at)
    at.slider(key="att.pe_length").set_value(64).run()
    assert not at.exception
    assert at.query_params.get("pe.length") in (["64"], "64")


def test_positions_tab_in_hebrew_has_no_missing_strings():
    at = open_linked("views/attention.py", lang="he", panel="positions")
    assert not at.exception
    assert "attention." not in _text(at)  # no untranslated key shown
