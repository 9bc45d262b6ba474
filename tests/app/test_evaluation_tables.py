"""AppTest: the Evaluation page's "Messy tables" and "Your own CSV" tabs (lesson 22). The tables tab shows the raw
table (missing values included), the fitted ColumnTransformer and the models' scores, the MLP's being sklearn's on
the same seeded predictions; the encoding toggle swaps the MLP and goes into the link. The upload tab asks for a
file (AppTest cannot upload one: the reading and checking is tested in tests/unit/test_evaluation_tables.py)."""

from __future__ import annotations

import pytest
from sklearn import metrics as skm
from streamlit.testing.v1 import AppTest

from labcore.evaluation import tables as T
from labcore.links import EVALUATION_PANELS
from tests.app.conftest import open_linked, poll

PAGE = "views/evaluation.py"


def _frames(at: AppTest) -> dict[str, object]:
    """The tables tab's tables, in the order it draws them (AppTest knows no dataframe's key)."""
    tab = at.tabs[EVALUATION_PANELS.index("tables")]
    return dict(zip(("head", "structure", "scores"), (d.value for d in tab.dataframe), strict=False))


def test_the_fraud_table_its_transformer_and_the_scores(fresh_registry):
    at = open_linked(PAGE, panel="tables")
    assert at.session_state["ev.tab"] == "Messy tables"
    assert [t.label for t in at.tabs][-2:] == ["Messy tables", "Your own CSV"]
    poll(at, lambda a: "scores" in _frames(a))  # an engine task: a progress bar first, the tables when done
    frames = _frames(at)
    table = T.fraud()
    assert list(frames["head"].columns) == [*table.frame.columns, "is_fraud"]
    structure = frames["structure"]
    assert structure["Columns in"].tolist() == [6, 2] and structure["Columns out"].tolist()[0] == 6
    assert "OneHotEncoder" in structure["Steps (scikit-learn)"].iloc[1]
    scores = frames["scores"]
    assert scores["Model"].tolist()[0] == "MLP, one-hot (torch)" and len(scores) == len(T.CLASSIFIERS)
    assert "Gradient boosting, raw table (NaN and categories native)" in scores["Model"].tolist()
    s = T.split(table)  # the page's MLP: same seed, same split, same numbers
    mlp = T.fit_mlp(s, "onehot")
    assert scores["PR-AUC"].iloc[0] == pytest.approx(skm.average_precision_score(s.y_test, mlp.proba[:, 1]))
    assert scores["Accuracy"].iloc[0] == pytest.approx(100 * skm.accuracy_score(s.y_test, mlp.pred))  # in percent
    share = (s.y_test == 1).mean()
    assert any(f"{1 - share:.1%} accuracy" in m.value for m in at.markdown)  # the always-"no" note is true
    at.segmented_control(key="ev.tbl.encoding").set_value("embedding").run()
    assert not at.exception, at.exception
    assert _frames(at)["scores"]["Model"].iloc[0] == "MLP, embeddings (torch)"
    assert at.query_params["tbl.encoding"] == "embedding"


def test_the_churn_table_shows_its_missing_values(fresh_registry):
    at = open_linked(PAGE, panel="tables", **{"tbl.data": "churn", "tbl.encoding": "embedding"})
    poll(at, lambda a: "scores" in _frames(a))
    head = _frames(at)["head"]
    assert head[["region", "device", "usage_hours", "age"]].isna().any().any()
    assert any(m.value.startswith("Missing per column: ") and "usage_hours" in m.value for m in at.markdown)
    structure = _frames(at)["structure"]
    assert "OrdinalEncoder" in structure["Steps (scikit-learn)"].iloc[1] and structure["Columns out"].tolist() == [5, 4]
    assert any("HistGradientBoosting handles missing values natively" in m.value for m in at.markdown)
    assert not at.error


def test_the_upload_tab_asks_for_a_file_and_the_rest_of_the_page_still_draws():
    at = open_linked(PAGE, panel="upload")
    assert at.session_state["ev.tab"] == "Your own CSV"
    assert any("Upload a CSV to start" in i.value for i in at.info)
    assert len(at.get("file_uploader")) == 1 and not at.error
    assert len(at.get("plotly_chart")) >= 4  # the threshold and calibration tabs are there as before


def test_a_hostile_tables_link_is_named(fresh_registry):
    at = open_linked(PAGE, panel="tables", **{"tbl.data": "../../etc/passwd", "tbl.encoding": "nan"})
    assert set(at.session_state["link_ignored"]) == {"tbl.data", "tbl.encoding"}
    assert at.segmented_control(key="ev.tbl.data").value == "fraud"
    assert any("settings the page cannot use" in w.value for w in at.warning)


def _upload_script(raw: bytes) -> None:
    """The upload tab alone, its uploader handing it `raw` (AppTest has no way to upload a file), then more page."""
    import streamlit as st

    from app import evaluation_upload

    class Upload:
        name, size = "mine.csv", len(raw)

        def getvalue(self) -> bytes:
            return raw

    real = st.file_uploader  # streamlit is one module for the whole test process: put it back afterwards
    st.file_uploader = lambda *a, **k: Upload()
    try:
        evaluation_upload.panel(True)
    finally:
        st.file_uploader = real
    st.markdown("the rest of the page")


def _upload(raw: bytes) -> AppTest:
    at = AppTest.from_function(_upload_script, args=(raw,), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(("raw", "words"), [
    (b"", "The file is empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "This is not a text file"),
    (b"a,b,a\n1,2,3\n", "Some column names appear more than once: 'a'"),
    (b"x,y\n" + b"".join(f"{i},1\n".encode() for i in range(30)), "holds the same value (1) in every row"),
])
def test_a_bad_upload_gets_its_sentence_and_the_page_goes_on(raw, words):
    at = _upload(raw)
    assert len(at.error) == 1 and words in at.error[0].value
    assert at.markdown[-1].value == "the rest of the page"


def test_a_good_upload_detects_its_task_and_compares_the_models(fresh_registry):
    raw = T.churn(n=300).raw.to_csv(index=False).encode("cp1252")
    at = _upload(raw)
    assert any("**Classification**: **churned** has 2 classes" in m.value for m in at.markdown)
    assert [w.value for w in at.warning] == []  # plain ASCII: UTF-8 as well
    poll(at, lambda a: len(a.dataframe) >= 3)
    scores = at.dataframe[2].value
    assert scores["Model"].tolist()[0] == "MLP, one-hot (torch)" and "PR-AUC" in scores.columns
    assert not at.error and at.markdown[-1].value == "the rest of the page"
