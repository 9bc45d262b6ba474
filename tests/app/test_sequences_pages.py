"""AppTest for the Sequences and Attention pages: they render, train in the background, and show results."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import open_page

pytestmark = pytest.mark.usefixtures("fresh_registry")


def _page(path: str) -> AppTest:
    return open_page(path)


def _wait_done(at: AppTest, key: str, timeout: float = 120.0) -> None:
    from app.state import registry

    deadline = time.time() + timeout
    while time.time() < deadline:
        job = registry().get(at.session_state[key])
        if job is not None and job.done:
            at.run()
            assert not at.exception, at.exception
            return
        time.sleep(0.2)
    raise AssertionError("the job did not finish in time")


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)


def test_sequences_page_renders_both_tabs():
    at = _page("views/sequences.py")
    assert at.title[0].value.startswith("Sequences")
    assert len(at.tabs) == 2
    assert any("generated here" in c.value for c in at.caption)  # the default series says where it comes from
    assert at.button(key="seq.forecast_job.train") is not None and at.button(key="seq.memory_job.train") is not None


def test_forecast_trains_and_scores_against_the_naive_baselines():
    at = _page("views/sequences.py")
    at.selectbox(key="seq.series").set_value("co2").run()
    assert any("statsmodels" in c.value for c in at.caption)
    at.slider(key="seq.f_epochs").set_value(3).run()
    at.multiselect(key="seq.f_models").set_value(["conv1d"]).run()
    at.button(key="seq.forecast_job.train").click().run()
    _wait_done(at, "seq.forecast_job")
    table = at.dataframe[0].value
    names = list(table.iloc[:, 0])
    assert names[0].startswith("1-D CNN") and any("Naive" in n for n in names) and any("Seasonal" in n for n in names)
    assert (table["MAE"] > 0).all() and (table["RMSE"] >= table["MAE"]).all()


def test_memory_tab_compares_models_and_shows_lstm_gates():
    at = _page("views/sequences.py")
    at.slider(key="seq.length").set_value(12).run()
    at.slider(key="seq.m_epochs").set_value(2).run()
    at.multiselect(key="seq.m_models").set_value(["rnn", "lstm"]).run()
    at.button(key="seq.memory_job.train").click().run()
    _wait_done(at, "seq.memory_job")
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == ["RNN · plain recurrent", "LSTM · long short-term memory"]
    assert any(s.value.startswith("Inside the LSTM") for s in at.subheader)
    at.number_input(key="seq.gate_example").set_value(3).run()
    assert not at.exception


def test_attention_page_trains_a_transformer_and_shows_heads():
    at = _page("views/attention.py")
    assert at.title[0].value.startswith("Attention")
    at.slider(key="att.text_epochs").set_value(2).run()
    at.button(key="att.text_job.train").click().run()
    _wait_done(at, "att.text_job")
    assert any(s.value == "Attention maps" for s in at.subheader)
    assert "the model says" in _markdown(at)
    assert at.selectbox(key="att.query.0").value is not None  # the [?] token is the default query


def test_attention_page_trains_a_vit_and_shows_rollout():
    at = _page("views/attention.py")
    at.slider(key="att.vit_epochs").set_value(1).run()
    at.button(key="att.vit_job.train").click().run()
    _wait_done(at, "att.vit_job")
    assert any(s.value.startswith("Attention rollout") for s in at.subheader)
    assert "Test accuracy" in _markdown(at)
