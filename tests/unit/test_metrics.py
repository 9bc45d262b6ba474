"""labcore.metrics against sklearn itself, plus the awkward cases a classroom hits (missing classes, one class)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from labcore.metrics import ClassificationReport, accuracy, classification_report


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _random_problem(k: int, n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])  # every class present
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.0  # better than chance, far from perfect
    return y, _softmax(logits), [f"c{i}" for i in range(k)]


@pytest.mark.parametrize("k", [2, 3, 10])
def test_matches_sklearn(k):
    y, prob, names = _random_problem(k, seed=k)
    pred = prob.argmax(1)
    report = classification_report(y, prob, names)

    assert isinstance(report, ClassificationReport)
    assert report.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    np.testing.assert_array_equal(report.confusion, skm.confusion_matrix(y, pred, labels=range(k)))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=range(k), zero_division=0)
    assert list(report.per_class.columns) == ["precision", "recall", "f1", "support"]
    assert list(report.per_class.index) == names
    np.testing.assert_allclose(report.per_class["precision"], p)
    np.testing.assert_allclose(report.per_class["recall"], r)
    np.testing.assert_allclose(report.per_class["f1"], f)
    np.testing.assert_array_equal(report.per_class["support"], s)

    if k == 2:
        # One curve, for the positive class only.
        assert list(report.roc) == ["c1"] and set(report.auc) == {"c1"}
        assert report.auc["c1"] == pytest.approx(skm.roc_auc_score(y, prob[:, 1]))
        fpr, tpr, _ = skm.roc_curve(y, prob[:, 1])
        np.testing.assert_allclose(report.roc["c1"][0], fpr)
        np.testing.assert_allclose(report.roc["c1"][1], tpr)
    else:
        assert set(report.roc) == set(names)
        for c, name in enumerate(names):
            assert report.auc[name] == pytest.approx(skm.roc_auc_score(y == c, prob[:, c]))
        assert report.auc["macro"] == pytest.approx(skm.roc_auc_score(y, prob, multi_class="ovr"))


def test_missing_class_is_skipped_in_auc():
    y, prob, names = _random_problem(4, seed=1)
    keep = y != 2
    y, prob = y[keep], prob[keep]
    report = classification_report(y, prob, names)

    assert "c2" not in report.auc and "c2" not in report.roc
    assert set(report.roc) == {"c0", "c1", "c3"}
    assert report.auc["macro"] == pytest.approx(np.mean([report.auc[n] for n in ("c0", "c1", "c3")]))
    assert report.confusion.shape == (4, 4)
    assert report.confusion[2].sum() == 0
    assert report.per_class.loc["c2", "support"] == 0
    assert report.per_class.loc["c2", "recall"] == 0.0


def test_single_class_in_y_true_gives_no_roc():
    y = np.zeros(6, dtype=int)
    prob = np.tile([0.7, 0.2, 0.1], (6, 1))
    report = classification_report(y, prob, ["a", "b", "c"])
    assert report.roc == {} and report.auc == {}
    assert report.accuracy == 1.0
    assert report.confusion[0, 0] == 6 and report.confusion.sum() == 6


def test_binary_with_only_negatives_gives_no_roc():
    report = classification_report(np.zeros(5, dtype=int), np.tile([0.6, 0.4], (5, 1)), ["neg", "pos"])
    assert report.roc == {} and report.auc == {}


def test_perfect_classifier():
    y = np.array([0, 1, 2, 2, 1, 0, 2])
    prob = np.eye(3)[y] * 0.9 + 0.1 / 3
    report = classification_report(y, prob, ["a", "b", "c"])
    np.testing.assert_array_equal(report.confusion, np.diag(np.bincount(y)))
    assert report.accuracy == 1.0
    assert all(v == 1.0 for v in report.auc.values())
    assert report.auc["macro"] == 1.0
    np.testing.assert_array_equal(report.per_class["f1"], [1.0, 1.0, 1.0])


def test_small_n_and_empty_input():
    # Fewer samples than classes: most classes absent, nothing may crash.
    report = classification_report(np.array([1, 3]), _softmax(np.eye(5)[[1, 0]] * 3), list("abcde"))
    assert report.accuracy == 0.5
    assert set(report.auc) <= {"b", "d", "macro"}

    empty = classification_report(np.zeros(0, dtype=int), np.zeros((0, 3)), ["a", "b", "c"])
    assert np.isnan(empty.accuracy)
    assert empty.confusion.shape == (3, 3) and empty.confusion.sum() == 0
    assert list(empty.per_class["support"]) == [0, 0, 0]
    assert empty.roc == {}


def test_nan_probabilities_do_not_crash():
    prob = np.array([[np.nan, np.nan], [0.2, 0.8], [0.9, 0.1]])
    report = classification_report(np.array([0, 1, 0]), prob, ["a", "b"])
    assert report.roc == {} and report.auc == {}
    assert report.confusion.sum() == 3


def test_accuracy():
    assert accuracy(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])) == 0.75
    assert isinstance(accuracy([1], [1]), float)
    assert np.isnan(accuracy(np.array([]), np.array([])))


@pytest.mark.parametrize("positive", [0, 1])
def test_binary_roc_follows_the_chosen_positive_class(positive):
    """Issue 18 item 15: breast cancer's class of interest is class 0 (malignant), not class 1."""
    y, prob, names = _random_problem(2, seed=7)
    report = classification_report(y, prob, names, positive=positive)
    name = names[positive]
    assert list(report.roc) == [name] and list(report.auc) == [name]
    fpr, tpr, _ = skm.roc_curve(y, prob[:, positive], pos_label=positive)
    np.testing.assert_allclose(report.roc[name][0], fpr)
    np.testing.assert_allclose(report.roc[name][1], tpr)
    assert report.auc[name] == pytest.approx(skm.roc_auc_score(y == positive, prob[:, positive]))
    # the default is class 1, as before; the two curves are mirror images with the same area
    other = classification_report(y, prob, names)
    if positive == 0:
        assert not np.array_equal(report.roc[name][1], other.roc["c1"][1])
    assert report.auc[name] == pytest.approx(other.auc["c1"])
    with pytest.raises(ValueError):
        classification_report(y, prob, names, positive=2)


def test_breast_cancer_scores_malignant_as_the_positive_class():
    from labcore.data import dataset_info, load_dataset

    for info in (dataset_info("breast_cancer"), load_dataset("breast_cancer").info):  # the picker's and the data's
        assert info.class_names[info.positive] == "malignant"
    assert dataset_info("moons").positive is None  # no class of interest: class 1, as before


def test_accuracy_interval_is_the_wilson_interval():
    from labcore.metrics import accuracy_interval

    n, k, z = 6, 4, 1.959963984540054  # by hand: the Wilson score interval's formula
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert accuracy_interval(p, n) == pytest.approx((centre - half, centre + half), abs=1e-9)
    lo, hi = accuracy_interval(4 / 6, 6)
    assert 0.29 < lo < 0.31 and 0.90 < hi < 0.91  # 4 of 6 right: anywhere from 30 % to 90 %
    wide, narrow = accuracy_interval(0.8, 10), accuracy_interval(0.8, 1000)
    assert narrow[1] - narrow[0] < (wide[1] - wide[0]) / 5
    assert np.isnan(accuracy_interval(0.5, 0)[0]) and np.isnan(accuracy_interval(float("nan"), 10)[1])
