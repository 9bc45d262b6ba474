"""AppTest for the Sequences and Attention pages: they render, train in the background, and show results."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import open_page, wait_done

pytestmark = pytest.mark.usefixtures("fresh_registry")


def _page(path: str) -> AppTest:
    return open_page(path)


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
    wait_done(at, "seq.forecast_job")
    table = at.dataframe[0].value
    names = list(table.iloc[:, 0])
    assert names[0].startswith("1-D CNN") and any("Naive" in n for n in names) and any("Seasonal" in n for n in names)
    assert (table["MAE"] > 0).all() and (table["RMSE"] >= table["MAE"]).all()
    _check_forecast_results(at, table)
    assert not any("previous setup" in i.value for i in at.info)
    at.selectbox(key="seq.series").set_value("sunspots").run()  # a new series: the CO2 results are labelled old
    assert any("previous setup" in i.value for i in at.info) and not at.exception


def _array(values):
    """A chart's x or y as numbers: Plotly's JSON packs numpy arrays as {"dtype", "bdata"} (base64)."""
    import base64

    import numpy as np

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def _check_forecast_results(at: AppTest, table) -> dict:
    """Issue 19: every row has its "MAE vs best naive" (a baseline too: the best one is +0 %, never "None"),
    one predicted step reads as one, and the chart opens fitted to the actual series, drawn on top."""
    import json

    ratio = table["MAE vs best naive"]
    assert ratio.notna().all(), table  # the baselines' rows were None
    baselines = table.iloc[1:]
    assert ratio.iloc[1:].min() == 0.0 and (ratio.iloc[1:] >= 0).all()
    assert (ratio == table["MAE"] / baselines["MAE"].min() - 1).all()
    text = _markdown(at)
    assert "one step ahead" in text and "all 1 predicted steps" not in text
    chart = json.loads(next(c for c in at.get("plotly_chart") if c.key == "seq.forecast_plot").proto.spec)
    actual = chart["data"][-1]
    assert actual["name"] == "Actual" and len(chart["data"]) == 1 + len(table)  # on top of every forecast
    lo, hi = chart["layout"]["yaxis"]["range"]
    x, y = _array(actual["x"]), _array(actual["y"])
    shown = y[x >= chart["layout"]["xaxis"]["range"][0]]
    assert lo < min(shown) and hi > max(shown) and hi - lo < 1.5 * (max(shown) - min(shown))
    return chart


def test_sunspot_forecasts_are_never_negative_and_the_page_says_so():
    at = _page("views/sequences.py")
    at.selectbox(key="seq.series").set_value("sunspots").run()
    at.slider(key="seq.f_epochs").set_value(1).run()
    at.multiselect(key="seq.f_models").set_value(["conv1d"]).run()
    at.button(key="seq.forecast_job.train").click().run()
    wait_done(at, "seq.forecast_job")
    chart = _check_forecast_results(at, at.dataframe[0].value)
    assert min(_array(trace["y"]).min() for trace in chart["data"]) >= 0  # forecasts (and the series) never below 0
    assert any("Sunspots cannot go below 0" in c.value for c in at.caption)


def test_memory_tab_compares_models_and_shows_lstm_gates():
    at = _page("views/sequences.py")
    at.slider(key="seq.length").set_value(12).run()
    at.slider(key="seq.m_epochs").set_value(2).run()
    at.multiselect(key="seq.m_models").set_value(["rnn", "lstm"]).run()
    at.button(key="seq.memory_job.train").click().run()
    wait_done(at, "seq.memory_job")
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == ["RNN · plain recurrent", "LSTM · long short-term memory"]
    assert any(s.value.startswith("Inside the LSTM") for s in at.subheader)
    at.number_input(key="seq.gate_example").set_value(3).run()
    assert not at.exception


def test_attention_page_trains_a_transformer_and_shows_heads():
    at = _page("views/attention.py")
    assert at.title[0].value.startswith("Attention")
    at.slider(key="att.text_epochs").set_value(2).run()
    at.slider(key="att.layers").set_value(2).run()
    at.button(key="att.text_job.train").click().run()
    wait_done(at, "att.text_job")
    assert any(s.value == "Attention maps" for s in at.subheader)
    assert "the model says" in _markdown(at)
    assert at.selectbox(key="att.query.0").value is not None  # the [?] token is the default query
    # one head, step by step: the knobs redraw without an error; a typed sentence is read or refused in words
    assert any(s.value == "One head, step by step" for s in at.subheader)
    assert len(at.get("plotly_chart")) >= 4  # curves, heads, query bars, embeddings, Q/K/V
    at.selectbox(key="att.steps.layer").set_value(2).run()
    at.select_slider(key="att.steps.temperature").set_value(0.1).run()
    at.toggle(key="att.steps.causal").set_value(True).run()
    assert not at.exception and not at.warning
    at.text_input(key="att.steps.typed").set_value("the dragon that the author liked [?] new").run()
    assert not at.exception and "dragon" in at.warning[0].value
    at.text_input(key="att.steps.typed").set_value("the books that the author liked [?] new").run()
    assert not at.exception and not at.warning
    shown = next(s for s in at.selectbox if s.key.startswith("att.steps.query."))
    assert shown.key == "att.steps.query.[CLS]|the|books|that|the|author|liked|[?]|new" and shown.value == 7


def test_attention_page_trains_a_vit_and_shows_rollout():
    at = _page("views/attention.py")
    at.slider(key="att.vit_epochs").set_value(1).run()
    at.button(key="att.vit_job.train").click().run()
    wait_done(at, "att.vit_job")
    assert any(s.value.startswith("Attention rollout") for s in at.subheader)
    assert "Test accuracy" in _markdown(at)
