"""AppTest: the Evaluation page's regression tab (lesson 5). A link opens it cleanly with both figures; the shown
MSE and MAE are sklearn's on the MLP's test predictions, and moving the outlier slider raises the shown MSE
relatively more than the shown MAE. On breast cancer the deep-vs-classic tab adds a permutation-importance chart."""

from __future__ import annotations

from sklearn import metrics as skm
from streamlit.testing.v1 import AppTest

from labcore.evaluation import regression as reg
from tests.app.conftest import open_linked, poll

PAGE = "views/evaluation.py"


def _metric(at: AppTest, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label))


def _has(at: AppTest, key: str) -> bool:
    try:
        at.get_by_key(key)
    except KeyError:
        return False
    return True


def test_the_regression_tab_opens_and_outliers_move_mse_more_than_mae():
    at = open_linked(PAGE, panel="regression")
    assert not at.exception and not at.warning
    assert at.get_by_key("ev.reg.fig.scatter") is not None and at.get_by_key("ev.reg.fig.residuals") is not None
    split = reg.load_split()
    pred = reg.fit_mlp(split, "mse").pred_test  # the page's model: same seed, same numbers
    assert _metric(at, "MSE") == float(f"{skm.mean_squared_error(split.y_test, pred):.1f}")
    assert _metric(at, "MAE") == float(f"{skm.mean_absolute_error(split.y_test, pred):.1f}")
    mse0, mae0 = _metric(at, "MSE"), _metric(at, "MAE")
    at.slider(key="ev.reg.outliers").set_value(5).run()
    assert not at.exception, at.exception
    assert at.query_params["reg.outliers"] == "5"
    y = reg.with_outliers(split.y_test, 5, reg.OUTLIER_SHIFT * split.y_train.std())
    assert _metric(at, "MSE") == float(f"{skm.mean_squared_error(y, pred):.1f}")
    assert _metric(at, "MSE") / mse0 > _metric(at, "MAE") / mae0 > 1


def test_the_deep_vs_classic_tab_shows_permutation_importance_on_breast_cancer(fresh_registry):
    at = open_linked(PAGE, panel="compare", **{"cmp.data": "breast_cancer"})
    poll(at, lambda a: _has(a, "ev.fig.importance"))  # two engine tasks: the table, then the shuffles
    assert "Accuracy drop" in str(at.get_by_key("ev.fig.importance").proto)
    assert not at.exception and not at.warning
