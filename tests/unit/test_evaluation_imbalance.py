"""labcore.evaluation.imbalance (issue 13): every number is sklearn's on the same predictions, the evaluation rows are
the accuracy paradox's, the three trainings start from the same weights, class weights are sklearn's "balanced"
ones, oversampling balances the classes, and at 5 % malignant the remedies find more of them than plain training."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from labcore.evaluation import imbalance, thresholds
from labcore.evaluation.models import BINARY, load_split


@pytest.fixture(scope="module")
def split():
    return load_split(BINARY)


@pytest.fixture(scope="module")
def fits(split):
    return imbalance.fit_remedies(split, split.positive, 0.10)  # three tiny MLPs: ~0.3 s


@pytest.mark.parametrize("threshold", [0.1, 0.5, 0.9])
def test_every_number_is_sklearns_on_the_same_predictions(fits, threshold):
    rows = imbalance.score_remedies(fits, threshold)
    assert [r.method for r in rows] == [*imbalance.METHODS, imbalance.BASELINE]
    y = fits.y_eval
    for r in rows[:-1]:
        s = fits.scores[r.method]
        pred = (s >= threshold).astype(int)
        assert r.accuracy == pytest.approx(skm.accuracy_score(y, pred))
        assert r.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(y, pred))
        assert r.mcc == pytest.approx(skm.matthews_corrcoef(y, pred))
        assert r.recall == pytest.approx(skm.recall_score(y, pred))
        assert r.pr_auc == pytest.approx(skm.average_precision_score(y, s))
    never = rows[-1]
    assert never.accuracy == pytest.approx(1 - y.mean()) and never.recall == 0.0
    assert never.balanced_accuracy == 0.5 and never.mcc == 0.0 and never.pr_auc == pytest.approx(y.mean())


def test_the_rows_judged_are_the_paradoxs(split, fits):
    y = (np.concatenate([split.y_val, split.y_test]) == split.positive).astype(int)
    p = thresholds.accuracy_paradox(y, np.zeros(len(y)), 0.5, 0.10)
    assert len(fits.y_eval) == p.n and fits.y_eval.sum() == p.n_positive
    never = imbalance.score_remedies(fits, 0.5)[-1]
    assert never.accuracy == pytest.approx(p.always_negative.accuracy)


def test_the_training_subset_its_class_weights_and_oversampling(split, fits):
    n_neg = int((split.y_train != split.positive).sum())
    assert fits.n_train - fits.n_train_positive == n_neg  # every negative kept, positives made rare
    assert fits.n_train_positive / fits.n_train == pytest.approx(0.10, abs=0.01)
    w_neg, w_pos = fits.class_weights  # sklearn's "balanced": n / (2 * count)
    assert w_neg == pytest.approx(fits.n_train / (2 * n_neg))
    assert w_pos == pytest.approx(fits.n_train / (2 * fits.n_train_positive))
    assert fits.n_oversampled == 2 * n_neg  # the rare class drawn again until both are equally many
    y = np.array([0] * 9 + [1] * 3)
    idx = imbalance.oversample(y, seed=4)
    assert np.bincount(y[idx]).tolist() == [9, 9] and (idx[:12] == np.arange(12)).all()
    assert (idx == imbalance.oversample(y, seed=4)).all() and not (idx == imbalance.oversample(y, seed=5)).all()


def test_the_three_trainings_start_from_the_same_weights(split):
    untrained = imbalance.fit_remedies(split, split.positive, 0.05, steps=0)
    plain = untrained.scores["plain"]
    for method in imbalance.METHODS:  # no step taken: the same network, so the same scores
        np.testing.assert_array_equal(untrained.scores[method], plain)
    trained = imbalance.fit_remedies(split, split.positive, 0.05, steps=50)
    assert not np.allclose(trained.scores["plain"], plain)  # ... and training does change them
    assert not np.allclose(trained.scores["weighted"], trained.scores["plain"])  # ... each its own way
    other_seed = imbalance.fit_remedies(split, split.positive, 0.05, seed=1, steps=0)
    assert not np.allclose(other_seed.scores["plain"], plain)  # the start depends on the seed


def test_at_5_percent_malignant_the_remedies_find_more_of_them(split):
    # Measured (threshold 0.5, 6 malignant among 113 tumours): plain recall 0.833, 1.0, 0.833 for seeds 0, 1, 2;
    # class weights and oversampling 1.0 each time. Breast cancer separates well, so the gain is a tumour or so.
    recall = {m: [] for m in imbalance.METHODS}
    balanced = {m: [] for m in imbalance.METHODS}
    for seed in range(3):
        fits = imbalance.fit_remedies(split, split.positive, 0.05, seed=seed)
        assert fits.n_train_positive == 13 and fits.y_eval.sum() == 6
        for r in imbalance.score_remedies(fits, 0.5)[:-1]:
            recall[r.method].append(r.recall)
            balanced[r.method].append(r.balanced_accuracy)
    for remedy in ("weighted", "oversampled"):
        assert all(a >= b for a, b in zip(recall[remedy], recall["plain"], strict=True)), recall
        assert np.mean(recall[remedy]) > np.mean(recall["plain"]), recall
        assert np.mean(balanced[remedy]) > np.mean(balanced["plain"]), balanced
