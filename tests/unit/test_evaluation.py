"""labcore.evaluation (lessons 5 and 22): every number at a threshold is sklearn's on the same predictions, the
threshold's point lies on both curves, ECE matches a hand computation and sklearn's reliability bins, temperature
scaling never changes a prediction and finds a known temperature, and the deep-vs-classic table has every model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression

from labcore import links
from labcore.evaluation import baselines, calibration, thresholds
from labcore.evaluation.models import BINARY, DATASETS, fit_mlp, load_split, softmax


@pytest.fixture(scope="module")
def cancer():
    split = load_split(BINARY)
    return split, fit_mlp(split)  # ~0.1 s


def _random_scores(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    return y, np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.0, 1.0).round(2)  # ties on purpose


@pytest.mark.parametrize("threshold", [0.01, 0.2, 0.35, 0.5, 0.66, 0.9, 0.99])
def test_every_number_at_a_threshold_is_sklearns(threshold):
    y, s = _random_scores()
    at = thresholds.at_threshold(y, s, threshold)
    pred = (s >= threshold).astype(int)
    assert at.confusion.tolist() == skm.confusion_matrix(y, pred).tolist()
    assert (at.tn, at.fp, at.fn, at.tp) == tuple(skm.confusion_matrix(y, pred).ravel())
    assert at.precision == skm.precision_score(y, pred, zero_division=0)
    assert at.recall == skm.recall_score(y, pred)
    assert at.f1 == skm.f1_score(y, pred, zero_division=0)
    assert at.balanced_accuracy == skm.balanced_accuracy_score(y, pred)
    assert at.mcc == skm.matthews_corrcoef(y, pred)
    assert at.accuracy == skm.accuracy_score(y, pred)
    assert at.fpr == pytest.approx(at.fp / (at.fp + at.tn))


@pytest.mark.parametrize("positive", [0, 1])
def test_the_models_numbers_follow_the_positive_class(cancer, positive):
    split, fitted = cancer
    y, s = thresholds.binary_scores(softmax(fitted.logits_test), split.y_test, positive)
    assert y.tolist() == (split.y_test == positive).astype(int).tolist()
    proba = softmax(fitted.logits_test)[:, positive]
    for t in (0.05, 0.5, 0.95):
        at = thresholds.at_threshold(y, s, t)
        pred = np.where(proba >= t, positive, 1 - positive)  # sklearn with the real labels and pos_label
        assert at.recall == skm.recall_score(split.y_test, pred, pos_label=positive)
        assert at.precision == skm.precision_score(split.y_test, pred, pos_label=positive, zero_division=0)
        assert at.mcc == pytest.approx(skm.matthews_corrcoef(split.y_test, pred))


def test_a_higher_threshold_trades_recall_for_precision():
    y, s = _random_scores()
    low, high = thresholds.at_threshold(y, s, 0.3), thresholds.at_threshold(y, s, 0.7)
    assert high.recall < low.recall and high.precision > low.precision


def test_the_thresholds_point_lies_on_both_curves():
    y, s = _random_scores()
    c = thresholds.curves(y, s)
    assert c.roc_auc == skm.roc_auc_score(y, s) and c.average_precision == skm.average_precision_score(y, s)
    roc = set(zip(c.fpr.round(12), c.tpr.round(12), strict=True))
    pr = set(zip(c.recall.round(12), c.precision.round(12), strict=True))
    for t in np.linspace(0.01, 0.99, 25):
        at = thresholds.at_threshold(y, s, t)
        assert (round(at.fpr, 12), round(at.recall, 12)) in roc, t
        if at.precision_defined:
            assert (round(at.recall, 12), round(at.precision, 12)) in pr, t


def test_nothing_predicted_positive_is_flagged_and_one_class_has_no_curve():
    y, s = _random_scores()
    at = thresholds.at_threshold(y, s, 1.01)
    assert not at.precision_defined and at.precision == 0.0 and at.recall == 0.0 and at.tp + at.fp == 0
    with pytest.raises(ValueError):
        thresholds.curves(np.zeros(5, dtype=int), np.linspace(0, 1, 5))


@pytest.mark.parametrize("prevalence", [0.01, 0.05, 0.2, 0.5])
def test_the_accuracy_paradox(prevalence):
    y, s = _random_scores(1000)
    p = thresholds.accuracy_paradox(y, s, 0.5, prevalence)
    idx = thresholds.subsample_prevalence(y, prevalence)
    if prevalence < y.mean():  # rarer than in the data: every negative kept, some positives
        assert (y[idx] == 0).sum() == (y == 0).sum() and y[idx].sum() < y.sum()
    else:  # more common: every positive kept, some negatives
        assert y[idx].sum() == y.sum() and (y[idx] == 0).sum() < (y == 0).sum()
    assert p.n_positive >= 1 and abs(p.prevalence - prevalence) < 0.01
    never = p.always_negative
    assert never.accuracy == pytest.approx(1 - p.prevalence)
    assert never.balanced_accuracy == 0.5 and never.mcc == 0.0 and never.recall == 0.0
    assert p.pr_auc == skm.average_precision_score(y[idx], s[idx]) and p.pr_auc_chance == pytest.approx(p.prevalence)
    if prevalence <= 0.05:  # the paradox: the useless baseline beats the model on accuracy alone
        assert never.accuracy > p.model.accuracy and never.balanced_accuracy < p.model.balanced_accuracy


def test_ece_by_hand():
    confidence = np.array([0.15, 0.25, 0.85, 0.95, 0.95, 0.1])
    correct = np.array([0, 1, 1, 1, 0, 1])
    # ten bins; 0.1 sits on an edge and belongs to the first bin (with 0.15? no: 0.15 is in the second)
    # bin (0, .1]: {0.1 ok}: |1 - 0.1| = 0.9; (.1, .2]: {0.15 wrong}: 0.15; (.2, .3]: {0.25 ok}: 0.75;
    # (.8, .9]: {0.85 ok}: 0.15; (.9, 1]: {0.95 ok, 0.95 wrong}: |0.5 - 0.95| = 0.45, two samples
    hand = (0.9 + 0.15 + 0.75 + 0.15 + 2 * 0.45) / 6
    assert calibration.expected_calibration_error(confidence, correct, 10) == pytest.approx(hand)
    assert calibration.expected_calibration_error(np.full(4, 0.75), np.array([1, 1, 1, 0]), 10) == pytest.approx(0.0)


@pytest.mark.parametrize("bins", calibration.BINS)
def test_reliability_bins_are_sklearns_and_give_the_ece(bins):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (400, 3))
    y = rng.integers(0, 3, 400)
    probs = softmax(logits)
    rel = calibration.reliability(probs, y, bins)
    conf, correct = probs.max(1), (probs.argmax(1) == y).astype(int)
    acc_bins, conf_bins = calibration_curve(correct, conf, n_bins=bins, strategy="uniform")
    np.testing.assert_allclose(rel.accuracy, acc_bins)
    np.testing.assert_allclose(rel.confidence, conf_bins)
    assert rel.counts.sum() == 400 and len(rel.counts) == len(acc_bins)
    assert rel.ece == pytest.approx(float(np.sum(rel.counts / 400 * np.abs(acc_bins - conf_bins))))
    assert rel.nll == pytest.approx(skm.log_loss(y, probs))


def test_temperature_finds_a_known_temperature_and_keeps_every_prediction():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 3, (4000, 4))
    y = np.array([rng.choice(4, p=p) for p in softmax(logits, 2.0)])  # labels drawn as if T = 2 were right
    t = calibration.fit_temperature(logits, y)
    assert t == pytest.approx(2.0, rel=0.1)
    nll = lambda temp: skm.log_loss(y, softmax(logits, temp))  # noqa: E731
    assert nll(t) < nll(1.0) and nll(t) <= min(nll(t * 0.9), nll(t * 1.1))
    assert (softmax(logits, t).argmax(1) == logits.argmax(1)).all()


def test_calibrating_the_mlp_leaves_accuracy_unchanged(cancer):
    split, fitted = cancer
    cal = calibration.calibrate(fitted.logits_val, split.y_val, fitted.logits_test, split.y_test)
    assert cal.after.accuracy_total == cal.before.accuracy_total
    assert (softmax(fitted.logits_test, cal.temperature).argmax(1) == fitted.logits_test.argmax(1)).all()
    assert cal.temperature != 1.0  # there was something to fit


def test_a_perfect_validation_split_stops_t_at_its_bound():
    logits = np.array([[4.0, 0.0], [0.0, 3.0], [5.0, 1.0]])
    assert calibration.fit_temperature(logits, np.array([0, 1, 0])) == pytest.approx(calibration.T_RANGE[0])


def test_the_splits():
    for name in DATASETS:
        s = load_split(name)
        assert s.x_train.ndim == 2 and s.x_train.shape[1] == s.x_test.shape[1] == s.n_features
        assert len(s.x_train) == len(s.y_train) and s.n_classes == len(np.unique(s.y_train))
    assert load_split("digits").n_features == 64 and load_split(BINARY).class_names[load_split(BINARY).positive] == "malignant"


def test_the_table_has_every_model_with_sklearns_numbers():
    split = load_split("wine")
    scores = baselines.compare(split)
    assert [s.model for s in scores] == list(baselines.MODELS)
    for s in scores:
        assert 0.0 <= s.balanced_accuracy <= 1.0 and 0.0 <= s.accuracy <= 1.0 and s.fit_seconds >= 0.0
    logreg = LogisticRegression(max_iter=2000).fit(split.x_train, split.y_train).predict(split.x_test)
    assert scores[1].accuracy == skm.accuracy_score(split.y_test, logreg)
    assert scores[1].balanced_accuracy == skm.balanced_accuracy_score(split.y_test, logreg)
    mlp = fit_mlp(split)
    assert scores[0].accuracy == skm.accuracy_score(split.y_test, mlp.logits_test.argmax(1))


def test_hostile_links_land_on_what_the_widgets_offer():
    values, ignored = links.read("evaluation", {"threshold": "nan", "cmp.data": "imagenet", "cal.data": "x" * 500,
                                                "positive": "0", "prevalence": "-5", "cal.bins": "7", "panel": "nope"})
    assert set(ignored) == {"threshold", "cmp.data", "cal.data", "positive", "panel", "prevalence"}
    assert values["threshold"] == 0.5 and values["cmp.data"] == BINARY and values["positive"] == "malignant"
    assert values["prevalence"] == 10 and values["cal.bins"] == 5  # 7 bins: the nearest the widget offers
    assert links.read("evaluation", {"threshold": "2.0"}) == (links.read("evaluation", {"threshold": "0.99"})[0], [])
    assert links.read("evaluation", {"threshold": "1e308"})[1] == ["threshold"]
    assert links.write("evaluation", links.read("evaluation", {"threshold": "0.3", "positive": "benign"})[0]) == \
        {"threshold": "0.3", "positive": "benign"}


@pytest.mark.parametrize("lang", ["en", "he"])
def test_the_figures_mark_the_threshold_and_show_every_model(cancer, lang):
    from labcore.viz import evaluation as figs

    split, fitted = cancer
    y, s = thresholds.binary_scores(softmax(fitted.logits_test), split.y_test, split.positive)
    at = thresholds.at_threshold(y, s, 0.9)
    fig = figs.curves_figure(thresholds.curves(y, s), at, lang=lang)
    points = [tr for tr in fig.data if tr.mode == "markers"]
    assert [(p.x[0], p.y[0]) for p in points] == [(at.fpr, at.recall), (at.recall, at.precision)]
    hist = figs.histogram_figure(y, s, 0.9, ("benign", "malignant"), lang=lang)
    assert sum(len(tr.x) for tr in hist.data) == len(y) and hist.layout.shapes[0].x0 == 0.9
    cal = calibration.calibrate(fitted.logits_val, split.y_val, fitted.logits_test, split.y_test)
    rel = figs.reliability_figure(cal, lang=lang)
    assert [sum(tr.customdata) for tr in rel.data[1:]] == [len(split.y_test)] * 2
    scores = baselines.compare(load_split("wine"))
    bars = figs.compare_figure(scores, [sc.model for sc in scores], lang=lang)
    assert [len(tr.y) for tr in bars.data] == [len(baselines.MODELS)] * 3
    paradox = figs.paradox_figure(thresholds.accuracy_paradox(y, s, 0.5, 0.05), lang=lang)
    assert len(paradox.data) == 2
