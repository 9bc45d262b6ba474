"""AppTest: the threshold tab's remedies table (issue 13). Under the accuracy paradox, plain training, class weights,
oversampling and always negative, each row sklearn's numbers from labcore.evaluation.imbalance; moving the prevalence
retrains the three models on the new rarity, without an exception."""

from __future__ import annotations

from labcore.evaluation import imbalance
from labcore.evaluation.models import BINARY, load_split
from tests.app.conftest import open_linked

PAGE = "views/evaluation.py"
ROWS = ["Plain", "Class weights", "Oversampling", "Always negative"]


def _remedies(at):
    return next(t.value for t in at.table if list(t.value.index) == ROWS)


def _expected(prevalence: float, threshold: float = 0.5) -> list[imbalance.RemedyScore]:
    split = load_split(BINARY)
    return imbalance.score_remedies(imbalance.fit_remedies(split, split.positive, prevalence), threshold)


def test_the_remedies_table_follows_the_prevalence():
    at = open_linked(PAGE)
    assert any(s.value == "Rare in training too: class weights and oversampling" for s in at.subheader)
    table = _remedies(at)  # the link's default prevalence, 10 %
    assert list(table.columns) == ["Accuracy", "Balanced accuracy", "MCC", "PR-AUC", "Recall (malignant)"]
    assert table["Recall (malignant)"].tolist() == [f"{r.recall:.3f}" for r in _expected(0.10)]
    at.slider(key="ev.prevalence").set_value(5).run()
    assert not at.exception, at.exception
    assert at.query_params["prevalence"] == "5"
    table = _remedies(at)
    expected = _expected(0.05)
    assert table["Balanced accuracy"].tolist() == [f"{r.balanced_accuracy:.3f}" for r in expected]
    assert table["Recall (malignant)"].tolist() == [f"{r.recall:.3f}" for r in expected]
    assert table.loc["Always negative", "Recall (malignant)"] == "0.000"
    assert any("Training subset: 263 tumours, 13 of them malignant" in c.value for c in at.caption)
