"""AppTest: the deep-vs-classic tab's SHAP section and twin-column demo (app.evaluation_explain) open from a link,
draw their figures without an exception, say the MLP's own probability for the chosen row, and follow the row
slider. Wine: the smallest table (27 test rows, 13 columns), so the engine tasks take a few seconds."""

from __future__ import annotations

import json

import numpy as np
from streamlit.testing.v1 import AppTest

from labcore.evaluation import explanations as ex
from labcore.evaluation.models import fit_mlp, load_split, softmax
from tests.app.conftest import open_linked, poll

PAGE = "views/evaluation.py"
FIGURES = {"ev.fig.beeswarm", "ev.fig.waterfall", "ev.fig.twins"}


def _charts(at: AppTest) -> dict[str, str]:
    return {c.key: c.proto.spec for c in at.get("plotly_chart") if c.key}


def test_shap_and_the_copied_column_render_and_follow_the_row(fresh_registry):
    at = open_linked(PAGE, panel="compare", **{"cmp.data": "wine", "shap": "1", "twin": "1", "shap.row": "4"})
    assert at.toggle(key="ev.shap").value and at.toggle(key="ev.twin").value
    assert at.selectbox(key="ev.twin.feature").value == ex.STRONGEST["wine"]
    assert at.slider(key="ev.shap.row").proto.max == ex.explained_rows("wine") - 1
    poll(at, lambda a: FIGURES <= set(_charts(a)), timeout=240)
    split = load_split("wine")
    p = softmax(fit_mlp(split).logits_test)[4, 0]  # the tab's MLP, class_0 (the selectbox's default)
    assert any(f"probability of **{p:.3f}**" in m.value for m in at.markdown)
    waterfall = json.loads(_charts(at)["ev.fig.waterfall"])["data"][0]
    assert np.isclose(waterfall["base"] + sum(waterfall["x"]), p, atol=1e-5)  # the steps end at the model's output
    assert any("Each twin gets less" in m.value for m in at.markdown)  # wine's strongest column splits (unit-tested)
    at.slider(key="ev.shap.row").set_value(7).run()
    assert not at.exception, at.exception
    assert any(f"probability of **{softmax(fit_mlp(split).logits_test)[7, 0]:.3f}**" in m.value for m in at.markdown)
    assert at.query_params["shap.row"] == "7"


def test_digits_explains_pixels_and_skips_the_twin_demo():
    at = open_linked(PAGE, **{"cmp.data": "digits"})  # the tab closed: the widgets are there for the link, no work
    assert at.selectbox(key="ev.shap.class").options == [str(d) for d in range(10)]
    assert "ev.twin" not in [t.key for t in at.toggle] and not (FIGURES & set(_charts(at)))
    assert any("digits has 64 pixel columns" in i.value for i in at.info)
