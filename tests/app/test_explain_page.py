"""AppTest: the Explain page trains its quick default, draws Grad-CAM and the other tabs without an
exception, and its buttons (ideal class, SHAP) and attack settings work."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture(scope="module")
def at():
    # One app for the module: the quick default model trains once (cache_resource), then every test reuses it.
    st.cache_resource.clear()
    app = AppTest.from_file(APP, default_timeout=180)
    app.run()
    app.switch_page("views/explain.py").run()
    assert not app.exception, app.exception
    yield app
    from app.state import registry

    registry().stop_all(wait=2)
    st.cache_resource.clear()


def _charts(app: AppTest) -> set[str]:
    return {c.key for c in app.get("plotly_chart")}


def _rerun_until(app: AppTest, keys: set[str], timeout: float = 120) -> set[str]:
    """Long computations run in background tasks: rerun (as the page's progress fragment does) until the
    charts `keys` are drawn."""
    deadline = time.time() + timeout
    while not keys <= _charts(app) and time.time() < deadline:
        assert not app.exception, app.exception
        time.sleep(0.3)
        app.run()
    return _charts(app)


def test_page_renders_grad_cam_for_the_default_model(at):
    assert any("Explain a model" in t.value for t in at.title)
    assert {"ex_attr", "ex_probs", "ex_top", "ex_adv", "ex_fmap_0"} <= _charts(at)
    # Localisation over the whole test set runs in the background, with a progress bar meanwhile.
    assert "ex_loc" in _rerun_until(at, {"ex_loc"})
    loc = next(c for c in at.get("plotly_chart") if c.key == "ex_loc")
    assert "No model (colour distance)" in loc.proto.spec  # issue 18: the bar a model's map must clear
    attr = next(c for c in at.get("plotly_chart") if c.key == "ex_attr")
    assert "Grad-CAM" in attr.proto.spec  # the overlay grid carries the method titles
    assert len(at.tabs) == 7
    assert not at.error


def test_target_and_image_can_change(at):
    at.number_input(key="ex_index").set_value(7).run()
    at.selectbox(key="ex_target").set_value("class:3").run()
    assert not at.exception, at.exception
    assert "ex_attr" in _charts(at)


def test_targeted_attack_reports_its_outcome(at):
    at.selectbox(key="ex_goal").set_value(1).run()
    at.select_slider(key="ex_eps").set_value(0.1).run()
    assert not at.exception, at.exception
    assert any("model now says" in s.value or "Not fooled" in s.value for s in [*at.success, *at.info])


def test_ideal_class_and_shap_buttons(at):
    at.button(key="ex_ideal_go").click().run()
    assert not at.exception, at.exception
    assert {"ex_ideal", "ex_ideal_p"} <= _rerun_until(at, {"ex_ideal", "ex_ideal_p"})
    at.button(key="ex_shap_img_go").click().run()
    at.button(key="ex_shap_tab_go").click().run()
    assert not at.exception, at.exception
    wanted = {"ex_shap_img_fig", "ex_bee", "ex_waterfall", "ex_importance"}
    assert wanted <= _rerun_until(at, wanted)
    assert any("Sum of the SHAP values" in c.value for c in at.caption)


def test_grad_cam_layer_can_be_picked(at):
    """Issue 18 item 15: Grad-CAM reads the last convolution unless the user picks another one."""
    layer = at.selectbox(key="ex_cam_layer:default")
    assert layer.value == 2 and layer.options == ["Convolution 1 of 3", "Convolution 2 of 3", "Convolution 3 of 3"]

    def attr_spec() -> str:
        return next(c for c in at.get("plotly_chart") if c.key == "ex_attr").proto.spec

    before = attr_spec()
    layer.set_value(0).run()
    assert not at.exception, at.exception
    assert attr_spec() != before  # another layer, other maps
    at.selectbox(key="ex_cam_layer:default").set_value(2).run()
    assert attr_spec() == before
