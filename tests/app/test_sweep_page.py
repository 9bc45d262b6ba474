"""AppTest: the Sweep page (issue 14). It opens cleanly with the default setup and a plan of the halving; a tiny
local sweep (4 trials of the digits MLP, 2 epochs) runs to the best trial, the heat map, the parallel-coordinates
plot and the table, whose links open each trial on the Train page; an empty choice says what is missing."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from labcore import links
from labcore.i18n import t
from tests.app.conftest import open_linked

PAGE = "views/sweep.py"


def _open(**query: str) -> AppTest:
    return open_linked(PAGE, **query)


def _chart_ids(at: AppTest) -> list[str]:
    return [c.proto.id for c in at.get("plotly_chart")]


def test_the_page_opens_with_its_defaults_and_a_plan(fresh_registry):
    at = _open()
    assert at.title[0].value == t("sweep.title", "en")
    assert at.selectbox(key="sw.data").value == "digits" and at.selectbox(key="sw.model").value == "cnn"
    assert at.multiselect(key="sw.lr").value == [0.001, 0.01, 0.1]
    assert not at.button(key="sw.run").disabled
    assert any("12 trials" in c.value for c in at.caption)
    assert t("sweep.start_hint", "en") in [i.value for i in at.info]
    at.multiselect(key="sw.optim").set_value([]).run()
    assert t("sweep.pick_one", "en") in [w.value for w in at.warning]
    assert at.button(key="sw.run").disabled


def test_a_tiny_local_sweep_runs_to_the_table_and_figures(fresh_registry):
    at = _open(model="mlp", lr="0.001,0.1", batch="64", epochs="2")
    assert not at.session_state["link_ignored"]
    assert any("4 trials" in c.value for c in at.caption)
    at.button(key="sw.run").click().run()
    deadline = time.monotonic() + 60
    while not at.dataframe and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
        assert not at.exception, at.exception
    assert at.dataframe, "the sweep did not finish in time"
    assert not at.error
    assert any(t("sweep.best", "en").split("{")[0] in s.value for s in at.success)
    ids = " ".join(_chart_ids(at))
    for key in ("sw.fig.curves", "sw.fig.heatmap", "sw.fig.parcoords"):
        assert key in ids
    table = at.dataframe[0].value
    assert len(table) == 4
    best = table[t("sweep.col_best", "en")].tolist()
    assert best == sorted(best, reverse=True)  # best first
    for url in table[t("sweep.col_open", "en")]:
        page, query = url.split("?", 1)
        assert page == "train"
        from urllib.parse import parse_qsl

        values, ignored = links.read("train", dict(parse_qsl(query)))
        assert ignored == [] and values["model.name"] == "mlp" and values["train.epochs"] == 2


def test_the_ray_backend_is_offered_only_with_a_cluster_address(fresh_registry, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.delenv("LAB_RAY_ADDRESS", raising=False)
    at = _open()
    assert "backend" not in [p.name for p in links.sweep({"data": "digits", "method": "grid"})]
    with pytest.raises(KeyError):
        at.button_group(key="sw.backend")
    monkeypatch.setenv("LAB_RAY_ADDRESS", "local")
    at = _open(backend="ray")
    assert at.button_group(key="sw.backend").value == "ray"
    assert at.session_state["link_ignored"] == []
