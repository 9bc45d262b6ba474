"""The deep-vs-classic tab's explanations (labcore.evaluation.explanations): SHAP values of the MLP's probabilities
add up to the model's own output, are wired the right way round (a linear model's SHAP values are known exactly),
and reach the figures unchanged; an exact copy of a column splits its permutation importance between the twins."""

from __future__ import annotations

import numpy as np
import pytest

from labcore.evaluation import explanations as ex
from labcore.evaluation.models import fit_mlp, load_split, softmax
from labcore.viz.explain import beeswarm_figure, waterfall_figure
from labcore.viz.twins import twins_figure


@pytest.fixture(scope="module")
def cancer():
    split = load_split("breast_cancer")
    return split, ex.shap_values(split, rows=12)


def test_shap_values_add_up_to_the_tabs_own_mlp_output(cancer):
    split, sv = cancer
    assert sv.values.shape == (12, split.n_features, 2) and sv.feature_names[0] == "mean radius"
    # f(x): the tab's MLP (models.fit_mlp), called by us, not by shap
    tab = softmax(fit_mlp(split).logits_test[:12])
    np.testing.assert_allclose(sv.outputs, tab, atol=1e-5)
    np.testing.assert_allclose(sv.base + sv.values.sum(1), tab, atol=1e-5)  # additivity, on every row and class
    model = ex.fit_model(split)
    np.testing.assert_allclose(sv.base, model.predict_proba(sv.background).mean(0), atol=1e-6)  # E[f(X)]
    assert np.abs(sv.values).max() > 0.01  # the test above could not pass with all zeros


class _Linear:
    """A 'classifier' whose probability of class 1 is linear in x: its SHAP values are w_i (x_i - mean of bg_i)."""

    def __init__(self, w: np.ndarray):
        self.w = w

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 0.5 + np.asarray(x, dtype=np.float64) @ self.w
        return np.stack([1 - p, p], axis=1)


def test_shap_values_are_each_columns_own_share(cancer):
    split, _ = cancer
    w = np.linspace(-0.02, 0.03, split.n_features)
    sv = ex.shap_values(split, rows=5, model=_Linear(w), max_evals=200)
    expected = w * (sv.x - sv.background.mean(0))
    np.testing.assert_allclose(sv.values[..., 1], expected, atol=1e-6)
    np.testing.assert_allclose(sv.values[..., 0], -expected, atol=1e-6)


def test_the_figures_draw_shaps_values_unchanged(cancer):
    split, sv = cancer
    k, row = split.positive, 3
    bee = beeswarm_figure(sv.values[..., k], sv.x, list(sv.feature_names), top=12)
    order = np.argsort(-np.abs(sv.values[..., k]).mean(0))[:12][::-1]  # the swarm's rows, bottom to top
    np.testing.assert_allclose(bee.data[0].x, np.concatenate([sv.values[:, f, k] for f in order]))
    water = waterfall_figure(sv.values[row, :, k], float(sv.base[k]), list(sv.feature_names), sv.x[row], top=10,
                             output="P")
    assert water.data[0].base == pytest.approx(sv.base[k])
    assert water.data[0].base + sum(water.data[0].x) == pytest.approx(sv.outputs[row, k], abs=1e-6)
    assert water.layout.xaxis.title.text == "P"


def test_rows_and_columns_follow_the_table():
    assert ex.explained_rows("breast_cancer") == ex.ROWS and ex.explained_rows("wine") == len(load_split("wine").y_test)
    names = ex.columns("digits")
    assert len(names) == 64 and names[9] == "pixel (1, 1)"
    assert ex.columns("digits", "uk")[9] == "піксель (1, 1)"


def test_a_copied_column_splits_its_credit_between_the_twins():
    split = load_split("wine")
    results = ex.twin_importance(split, ex.STRONGEST["wine"])
    assert [r.model for r in results] == list(ex.TWIN_MODELS)
    names = ex.columns("wine")
    for r in results:
        assert r.after_mean.shape == (split.n_features + 1,) and r.before_mean.shape == (split.n_features,)
        one, two = r.twins
        # measured: forest 0.142 -> 0.069 + 0.075, MLP 0.071 -> 0.038 + 0.039 (Brier rise)
        assert r.alone > 0.03 and max(one, two) < 0.75 * r.alone, r.model
        assert one + two < 1.25 * r.alone, r.model  # the credit is shared, not created
    forest = results[1]
    assert names[int(np.argmax(forest.before_mean))] == ex.STRONGEST["wine"]  # the default is the strongest column
    fig = twins_figure(results, ["MLP", "forest"], "proline")
    assert [list(b.y) for b in fig.data] == [[r.alone for r in results], [r.twins[0] for r in results],
                                             [r.twins[1] for r in results]]


def test_breast_cancers_default_column_is_the_forests_strongest():
    split = load_split("breast_cancer")
    (forest,) = ex.twin_importance(split, ex.STRONGEST["breast_cancer"], models=("forest",))
    assert ex.columns("breast_cancer")[int(np.argmax(forest.before_mean))] == "worst perimeter"
    one, two = forest.twins
    assert max(one, two) < forest.alone  # measured: 0.015 -> 0.004 + 0.009
