"""AppTest: the Evaluation page (lessons 5 and 22). It opens cleanly on each tab, its widgets offer exactly what
its link offers, moving the threshold changes the shown recall to sklearn's on the same predictions, and the
deep-vs-classic table lists every model. The models are tiny (well under a second each) and cached."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from streamlit.testing.v1 import AppTest

from labcore.evaluation.baselines import MODELS
from labcore.evaluation.models import BINARY, fit_mlp, load_split, softmax
from tests.app.conftest import assert_widgets_offer_the_link, open_linked, poll

PAGE = "views/evaluation.py"


def _open(**query: str) -> AppTest:
    return open_linked(PAGE, **query)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture(scope="module")
def page() -> AppTest:
    return _open()


def test_the_page_opens_and_its_widgets_offer_what_the_link_offers(page):
    at = page
    assert [t.label for t in at.tabs] == ["Threshold", "Calibration", "Deep vs classic", "Regression", "Messy tables",
                                          "Your own CSV"]
    assert len(at.get("plotly_chart")) == 5  # curves, confusion, histogram, paradox, reliability (compare: closed)
    assert_widgets_offer_the_link(at, "evaluation", "ev.")
    assert not at.warning  # a clean link: nothing to complain about


def test_moving_the_threshold_changes_the_recall_as_sklearn_says(page):
    at = page
    split = load_split(BINARY)
    proba = softmax(fit_mlp(split).logits_test)[:, split.positive]  # the page's model: same seed, same numbers

    def expected(t: float, positive: int = split.positive) -> tuple[float, float]:
        p = proba if positive == split.positive else 1 - proba
        pred = np.where(p >= t, positive, 1 - positive)
        return (skm.recall_score(split.y_test, pred, pos_label=positive),
                skm.matthews_corrcoef(split.y_test, pred))

    assert _metric(at, "Recall") == f"{expected(0.5)[0]:.3f}"
    assert expected(0.99)[0] < expected(0.5)[0]  # the check below can tell the two thresholds apart
    at.slider(key="ev.threshold").set_value(0.99).run()
    assert not at.exception, at.exception
    recall, mcc = expected(0.99)
    assert _metric(at, "Recall") == f"{recall:.3f}" and _metric(at, "MCC") == f"{mcc:.3f}"
    assert at.query_params["threshold"] == "0.99"
    at.segmented_control(key="ev.positive").set_value("benign").run()
    assert not at.exception, at.exception
    assert _metric(at, "Recall") == f"{expected(0.99, 1 - split.positive)[0]:.3f}"
    assert at.query_params["positive"] == "benign"


def test_the_deep_vs_classic_tab_lists_every_model(fresh_registry):
    at = _open(panel="compare", **{"cmp.data": "wine"})
    assert at.session_state["ev.tab"] == "Deep vs classic"
    poll(at, lambda a: len(a.dataframe) > 0)  # an engine task: a progress bar first, the table when it is done
    table = at.dataframe[0].value
    assert len(table) == len(MODELS) and table["Model"].tolist()[0] == "MLP (torch)"
    assert ((table["Accuracy"] >= 0) & (table["Accuracy"] <= 1)).all()
    assert len(at.get("plotly_chart")) == 6


def test_a_hostile_link_is_named_and_the_page_still_draws():
    at = _open(threshold="nan", **{"cmp.data": "imagenet", "cal.steps": "1e999", "prevalence": "2.0"})
    assert set(at.session_state["link_ignored"]) == {"threshold", "cmp.data", "cal.steps"}
    assert at.slider(key="ev.threshold").value == 0.5 and at.slider(key="ev.prevalence").value == 2
    assert any("settings the page cannot use" in w.value for w in at.warning)
