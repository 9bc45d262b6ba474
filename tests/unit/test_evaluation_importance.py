"""labcore.evaluation.importance (lessons 5 and 22): the sklearn-wrapped MLP is the page's MLP (same predictions),
and permutation importance gives one finite mean and spread per feature, by sklearn on the same model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from labcore.evaluation import importance as im
from labcore.evaluation.models import BINARY, fit_mlp, load_split


@pytest.fixture(scope="module")
def split():
    return load_split(BINARY)


def test_the_wrapped_mlp_predicts_what_the_pages_mlp_predicts(split):
    est = im.MLPClassifier().fit(split.x_train, split.y_train)
    page = fit_mlp(split).logits_test.argmax(axis=1)
    np.testing.assert_array_equal(est.predict(split.x_test), page)
    proba = est.predict_proba(split.x_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert est.score(split.x_test, split.y_test) == skm.accuracy_score(split.y_test, page)


@pytest.mark.parametrize("model", ["mlp", "logreg"])
def test_permutation_importance_has_one_finite_value_per_feature(split, model):
    r = im.importance(split, model, repeats=im.REPEATS)
    assert len(r.features) == split.n_features == 30 and r.features[0] == "mean radius"
    assert r.mean.shape == r.std.shape == (30,)
    assert np.isfinite(r.mean).all() and np.isfinite(r.std).all() and (r.std >= 0).all()
    assert r.mean.max() > 0  # shuffling some column hurts: the model uses the measurements
    assert 0.85 < r.accuracy <= 1
