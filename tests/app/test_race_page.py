"""AppTest for the optimizer race page: renders, mirrors its setup into the URL, restores it from a link,
runs a preset to the leaderboard, edits contenders, stops. (AppTest has no browser: tests poll `at.run()`.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from labcore.train.race_setup import from_query, preset, to_query
from tests.app.conftest import job_of, open_page, pause_resume_stop, poll

PAGE = "views/race.py"
pytestmark = pytest.mark.usefixtures("fresh_registry")


def _page(**query: str) -> AppTest:
    return open_page(PAGE, **query)


def _job(at: AppTest):
    return job_of(at, "race_job_id")


def test_the_page_renders_a_preset_and_puts_it_in_the_url():
    at = _page()
    assert at.title[0].value == "Optimizer race"
    assert at.button(key="race.btn_start") is not None
    assert any("same initial weights" in i.value for i in at.info)  # the page says the race is fair
    assert len(at.get("plotly_chart")) == 1
    assert from_query(dict(at.query_params)) == preset("optimizers")


def test_a_preset_runs_to_the_leaderboard():
    at = _page()
    at.selectbox(key="race.preset").set_value("lion_vs_adamw").run()
    at.slider(key="race.epochs").set_value(3).run()
    assert [at.selectbox(key=f"race.c{cid}.name").value for cid in at.session_state["race.ids"]] == ["lion", "adamw"]
    at.button(key="race.btn_start").click().run()
    assert not at.exception, at.exception
    poll(at, lambda a: _job(a).done)
    at.run()
    assert not at.exception, at.exception
    assert _job(at).status == "finished"
    (board,) = at.dataframe
    assert len(board.value) == 2
    assert set(board.value["Contender"]) == {"Lion · lr 0.0003 · wd 0.03", "AdamW · lr 0.001"}
    assert any(s.value == "Leaderboard" for s in at.subheader)

    # Each contender can then be explained like a model from the Train page.
    at.switch_page("views/explain.py").run()
    assert not at.exception, at.exception
    key = f"{_job(at).id}:1"
    assert sum("from the race" in o for o in at.selectbox(key="ex_model").options) == 2
    at.selectbox(key="ex_model").set_value(key).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="ex_model").value == key and len(at.get("plotly_chart")) >= 2


def test_a_link_restores_its_setup():
    cfg = preset("batch_sizes")
    at = _page(**to_query(cfg))
    assert from_query(dict(at.query_params)) == cfg
    ids = at.session_state["race.ids"]
    assert [at.selectbox(key=f"race.c{cid}.batch").value for cid in ids] == [16, 64, 256]
    assert any("own group" in i.value for i in at.info)  # the page explains how batch sizes race


def test_a_broken_link_gives_a_warning_not_a_traceback():
    at = _page(c1="adam", c2="warp-drive")  # one contender left cannot race: both are named, the default races
    assert at.session_state["link_ignored"] == ["c2", "c1"]
    assert len(at.warning) == 1 and "c2, c1" in at.warning[0].value
    assert from_query(dict(at.query_params)) == preset("optimizers")


def test_contenders_can_be_added_changed_and_removed():
    at = _page()
    at.button(key="race.btn_add").click().run()
    ids = at.session_state["race.ids"]
    assert len(ids) == 4
    new = ids[-1]
    at.selectbox(key=f"race.c{new}.name").set_value("lion").run()
    assert at.select_slider(key=f"race.c{new}.lr").value == pytest.approx(1e-4)  # Lion's own usual lr
    assert dict(at.query_params)["c4"] == "lion"
    at.button(key=f"race.remove.{ids[0]}").click().run()
    assert not at.exception, at.exception
    assert len(at.session_state["race.ids"]) == 3
    assert dict(at.query_params)["c1"] == "sgd"


def test_a_running_race_can_be_paused_and_stopped():
    at = _page()
    at.slider(key="race.epochs").set_value(50).run()
    at.selectbox(key="race.model").set_value("mlp").run()
    at.button(key="race.btn_start").click().run()
    poll(at, lambda a: any(s.steps for s in _job(a).standings()))
    assert at.selectbox(key=f"race.c{at.session_state['race.ids'][0]}.name").disabled  # locked while racing
    pause_resume_stop(at, "race.", _job, within=1.0)


def test_a_link_cannot_go_beyond_the_widgets():
    """Issue 20: a link sets only what the page's widgets can (no day-long step delay holding a training slot)."""
    query = {"train.epochs": "200", "train.batch_size": "100", "target": "0.3", "c1": "momentum",
             "c1.lr": "0.0003", "c1.momentum": "0.995", "c1.batch": "48", "c2": "adam", "c2.beta2": "0.8",
             "train.step_delay": "86400", "train.num_threads": "64"}
    at = _page(**query)
    assert at.slider(key="race.epochs").value == 50
    assert at.session_state["link_ignored"] == ["train.step_delay", "train.num_threads"]
    cfg = from_query(dict(at.query_params))
    assert cfg.train.step_delay == 0 and cfg.train.num_threads == 0
    assert dict(at.query_params) == {"data": "digits", "model": "cnn", "train.epochs": "50", "train.batch_size": "128",
                                     "target": "0.5", "c1": "momentum", "c1.lr": "0.0003", "c1.momentum": "0.99",
                                     "c1.batch": "64", "c2": "adam", "c2.beta2": "0.9"}
