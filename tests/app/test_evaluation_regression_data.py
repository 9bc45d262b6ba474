"""AppTest: the Evaluation page's regression tab on each of its data sets (link param reg.data). Each opens without
an exception, its table lists the four models with sklearn's R² on the same (seeded, cached) fits, negative R² is
shown as negative and named, the wave draws its fitted curves over x and the CO₂ lags (levels and changes) their
test months over time,
and switching the data set in the widget writes the link."""

from __future__ import annotations

import pytest
from sklearn import metrics as skm
from streamlit.testing.v1 import AppTest

from labcore.evaluation import regression as reg
from tests.app.conftest import open_linked

PAGE = "views/evaluation.py"
EXTRA_FIGURE = {"diabetes": None, "wave": "ev.reg.fig.curves", "surface": None, "lags": "ev.reg.fig.months",
                "diffs": "ev.reg.fig.months"}


def _charts(at: AppTest) -> set[str]:
    """The keys of the regression tab's figures on the page."""
    ids = [c.proto.id for c in at.get("plotly_chart")]
    return {k for k in ("ev.reg.fig.scatter", "ev.reg.fig.residuals", *filter(None, EXTRA_FIGURE.values()))
            if any(i.endswith(k) for i in ids)}


def _expected_r2(data: str) -> list[float]:
    split = reg.load_split(data=data)
    fits = {n: reg.fit_classic(n, split) for n in ("mean", "linear", "boosting")} | {"mlp": reg.fit_mlp(split)}
    return [skm.r2_score(split.y_test, fits[n].pred_test) for n in reg.MODELS]


@pytest.mark.parametrize("data", reg.DATASETS)
def test_each_data_set_opens_with_sklearns_r2_and_its_figures(data):
    at = open_linked(PAGE, panel="regression", **{"reg.data": data})
    assert at.session_state["ev.reg.data"] == data
    table = next(d.value for d in at.dataframe if "R²" in d.value.columns)
    assert table["Model"].tolist() == ["Mean (baseline)", "Linear regression", "Gradient boosting", "MLP"]
    assert table["R²"].tolist() == pytest.approx(_expected_r2(data), abs=1e-9)
    assert _charts(at) == {"ev.reg.fig.scatter", "ev.reg.fig.residuals"} | ({EXTRA_FIGURE[data]} - {None})
    below = [i.value for i in at.info if i.value.startswith("R² below zero")]
    if data == "lags":  # the past's mean and the trees do worse than the test months' mean: shown, not clipped
        assert (table["R²"].iloc[[0, 2]] < 0).all()
        assert len(below) == 1 and "Gradient boosting (-" in below[0] and "Mean (baseline) (-" in below[0]
        assert any("lies above the highest training value" in m.value for m in at.markdown)
    if data in ("diabetes", "diffs"):
        assert not below and (table["R²"].iloc[1:] > 0).all()
    if data == "diffs":  # differenced, the trees reach the test months: the note compares with the levels
        level = _expected_r2("lags")[reg.MODELS.index("boosting")]
        assert any(f"against {level:.3f} on the undifferenced" in m.value for m in at.markdown)


def test_switching_the_data_set_refits_and_writes_the_link():
    at = open_linked(PAGE, panel="regression")
    assert at.session_state["ev.reg.data"] == "diabetes"
    at.segmented_control(key="ev.reg.data").set_value("wave").run()
    assert not at.exception, at.exception
    assert at.query_params["reg.data"] == "wave"
    table = next(d.value for d in at.dataframe if "R²" in d.value.columns)
    assert table["R²"].tolist() == pytest.approx(_expected_r2("wave"), abs=1e-9)
    assert "ev.reg.fig.curves" in _charts(at)
