"""AppTest of the optimizer playground page: it renders, sliders move the paths, the URL holds the setup
and a shared link restores it, and no setting (however wild) leaves a traceback on the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGE = "views/playground.py"


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def _open(**query: str) -> AppTest:
    """The playground, opened like a link: /playground?key=value..."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _figure(at: AppTest, index: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def _trace(at: AppTest, name: str) -> dict:
    return next(tr for tr in _figure(at)["data"] if tr.get("name") == name)


def test_page_renders_the_race_and_the_book_example():
    at = _open()
    assert at.title[0].value == "Optimizer playground"
    assert len(at.get("plotly_chart")) == 3  # map, loss, parabola
    names = {tr.get("name") for tr in _figure(at)["data"]}
    assert {"SGD", "SGD with momentum", "Adam", "Lion"} <= names  # the default four
    assert "Adagrad" not in names
    assert at.success  # η = 0.1: the book's smooth regime
    assert dict(at.query_params) == {"surface": "rosenbrock"}


def test_moving_a_slider_changes_the_path_and_the_link():
    at = _open()
    before = _trace(at, "SGD")
    adam_before = _trace(at, "Adam")
    at.select_slider(key="pg.sgd.lr").set_value(0.0005).run()
    assert not at.exception, at.exception
    after = _trace(at, "SGD")
    assert after["x"] != before["x"] and after["y"] != before["y"]
    assert _trace(at, "Adam")["x"] == adam_before["x"]  # the others stay put
    assert at.query_params["sgd.lr"] == "0.0005"


def test_the_start_sliders_move_every_path():
    at = _open()
    before = {name: _trace(at, name)["x"] for name in ("SGD", "Lion")}
    at.slider(key="pg.x").set_value(0.5).run()
    assert not at.exception, at.exception
    assert all(_trace(at, name)["x"] != x for name, x in before.items())
    start = next(tr for tr in _figure(at)["data"] if tr.get("name") == "Start")
    assert start["x"] == [0.5]
    assert at.query_params["x"] == "0.5"


def test_a_shared_link_restores_the_setup():
    at = _open(surface="ravine", on="sgd,adagrad", **{"sgd.lr": "1.5", "adam.bias_correction": "0"}, eta="0.3",
               steps="120")
    assert at.selectbox(key="pg.surface").value == "ravine"
    assert at.select_slider(key="pg.sgd.lr").value == 1.5
    assert at.toggle(key="pg.adam.bias_correction").value is False
    assert at.toggle(key="pg.adagrad.on").value is True and at.toggle(key="pg.adam.on").value is False
    assert at.slider(key="pg.steps").value == 120
    assert at.slider(key="pg.eta").value == 0.3
    names = [tr.get("name") for tr in _figure(at)["data"] if tr.get("legendgroup")]
    assert names[0].startswith("SGD · diverged at step") and names[1] == "Adagrad"
    assert at.warning and "SGD blew up" in at.warning[0].value
    assert at.error and "η = 0.3" in at.error[0].value  # the book example diverges too


def test_a_broken_link_opens_with_defaults():
    at = _open(surface="nowhere", x="abc", steps="-40", **{"adam.lr": "1e999"})
    assert at.selectbox(key="pg.surface").value == "rosenbrock"
    assert at.slider(key="pg.steps").value == 300  # a negative count is junk, not "the least": the default
    assert dict(at.query_params) == {"surface": "rosenbrock"}
    assert at.session_state["link_ignored"] == ["surface", "x", "steps", "adam.lr"]
    assert len(at.warning) >= 1 and "surface, x, steps, adam.lr" in at.warning[0].value


def test_switching_surface_brings_its_start_and_learning_rates():
    at = _open()
    at.selectbox(key="pg.surface").set_value("saddle").run()
    assert not at.exception, at.exception
    assert (at.slider(key="pg.x").value, at.slider(key="pg.y").value) == (-2.2, 0.02)
    assert at.select_slider(key="pg.sgd.lr").value == 0.05
    assert at.query_params["surface"] == "saddle" and "x" not in at.query_params


def test_wild_settings_never_crash():
    at = _open(on="sgd,momentum,nesterov,adagrad,rmsprop,adam,adamw,lion")
    for name in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lion"):
        at.select_slider(key=f"pg.{name}.lr").set_value(10.0)
    at.slider(key="pg.momentum.momentum").set_value(0.99)
    at.select_slider(key="pg.adam.eps").set_value(1e-10)
    at.slider(key="pg.steps").set_value(1000).run()
    assert not at.exception, at.exception
    assert at.warning  # someone blew up, and the page says so in words
    at.toggle(key="pg.adam.bias_correction").set_value(False).run()
    assert not at.exception, at.exception


def test_everything_switched_off_says_what_to_do():
    at = _open(on="-")
    assert any("switched off" in i.value for i in at.info)
    assert not [tr for tr in _figure(at)["data"] if tr.get("legendgroup")]
