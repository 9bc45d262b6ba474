"""Messy tables and the user's own CSV (labcore.evaluation.tables, labcore.evaluation.csv_table): seeded generators
with the promised imbalance and missing values, the ColumnTransformer's real output shape, metrics equal to
sklearn's on the same predictions, and every hostile CSV refused with its own catalogue key (or repaired with a
note), never an exception of another kind."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from labcore.evaluation import csv_table as C
from labcore.evaluation import tables as T
from labcore.i18n import languages, t


# -- generators -----------------------------------------------------------------------------------------------------
def test_the_generated_tables_are_deterministic_and_depend_on_the_seed():
    for name in T.TABLES:
        a, b, c = T.load(name), T.load(name), T.load(name, seed=1)
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert np.array_equal(a.y, b.y)
        assert not a.frame.equals(c.frame)


def test_fraud_is_rare_and_churn_has_categories_and_missing_values():
    fraud = T.fraud()
    assert len(fraud.y) == 4000 and 0.02 <= fraud.y.mean() <= 0.05
    assert all(0.02 <= T.fraud(seed=s).y.mean() <= 0.05 for s in (1, 2, 3))
    assert not fraud.frame.isna().any().any()
    churn = T.churn()
    missing = churn.frame.isna().mean()
    assert 0.05 <= missing["usage_hours"] <= 0.2 and 0.05 <= missing["age"] <= 0.15
    assert 0.03 <= missing["region"] <= 0.1 and 0.05 <= missing["device"] <= 0.12
    assert missing[["plan", "contract", "tenure_months"]].sum() == 0
    assert 0.2 <= churn.y.mean() <= 0.3
    # usage is missing more often for those who leave: the gap itself is informative
    gone = churn.frame["usage_hours"].isna()
    assert gone[churn.y == 1].mean() > 2 * gone[churn.y == 0].mean()
    assert set(churn.categorical) == {"plan", "region", "device", "contract"}
    assert churn.raw.columns[-1] == "churned" and set(churn.raw["churned"]) == {"stays", "leaves"}


# -- the ColumnTransformer -------------------------------------------------------------------------------------------
def test_the_column_transformer_output_shape_and_structure():
    table = T.churn()
    s = T.split(table)
    onehot, codes = T.encode(s, "onehot"), T.encode(s, "embedding")
    width = len(table.numeric)
    for c in table.categorical:  # one column per category seen in training, "(missing)" being one when present
        width += s.train[c].nunique() + int(s.train[c].isna().any())
    assert onehot.x_train.shape == (len(s.y_train), width) and onehot.x_test.shape == (len(s.y_test), width)
    assert codes.x_train.shape == (len(s.y_train), len(table.numeric) + len(table.categorical))
    assert not np.isnan(onehot.x_train).any() and not np.isnan(onehot.x_test).any()
    assert np.allclose(onehot.x_train[:, :len(table.numeric)].mean(axis=0), 0, atol=1e-5)  # standardised
    blocks = T.structure(onehot.transformer)
    assert [b.name for b in blocks] == ["numbers", "categories"]
    assert blocks[0].steps == ("SimpleImputer(keep_empty_features=True, strategy='median')", "StandardScaler()")
    assert "OneHotEncoder" in blocks[1].steps[1] and blocks[1].n_out == width - len(table.numeric)
    assert sum(b.n_out for b in blocks) == width


def test_embedding_codes_reserve_zero_for_an_unseen_category():
    table = T.churn(n=200)
    s = T.split(table)
    test = s.test.copy()
    test.loc[0, "plan"] = "platinum"  # never seen in training
    enc = T.encode(T.TabSplit(table, s.train, test, s.y_train, s.y_test), "embedding")
    n = len(table.numeric)
    assert enc.x_test[0, n] == 0 and (enc.x_train[:, n:] >= 1).all()
    assert enc.cardinalities[0] == s.train["plan"].nunique() + 1
    model = T.build_mlp(enc, 2, "embedding")
    assert isinstance(model, T.EmbeddingMLP) and len(model.embeddings) == len(table.categorical)


# -- models and metrics ---------------------------------------------------------------------------------------------
def test_scores_are_sklearns_on_the_same_predictions_and_the_mlp_is_seeded():
    table = T.fraud(n=800)
    s = T.split(table)
    enc = T.encode(s)
    for name in ("logreg", "boosting_native"):
        f = T.fit_classic(name, s, enc)
        sc = T.score(table, s.y_test, f)
        assert sc.accuracy == pytest.approx(skm.accuracy_score(s.y_test, f.pred))
        assert sc.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(s.y_test, f.pred))
        assert sc.pr_auc == pytest.approx(skm.average_precision_score(s.y_test, f.proba[:, 1]))
    a, b = T.fit_mlp(s, "onehot", steps=30), T.fit_mlp(s, "onehot", steps=30)
    assert np.array_equal(a.proba, b.proba)
    assert np.array_equal(a.pred, a.proba.argmax(axis=1))


def test_boosting_reads_nan_and_categories_natively():
    table = T.churn(n=400)
    s = T.split(table)
    cats = {c: sorted(s.train[c].dropna().unique()) for c in table.categorical}
    raw = T.native_frame(s.train, table, cats)
    assert raw["usage_hours"].isna().any() and isinstance(raw["plan"].dtype, pd.CategoricalDtype)
    assert raw["region"].isna().any()  # a missing category stays missing: HGB gives it its own branch
    f = T.fit_classic("boosting_native", s, T.encode(s))
    assert f.pred.shape == s.y_test.shape and np.isfinite(f.proba).all()


def test_compare_on_a_small_table_lists_every_model():
    table = T.churn(n=300)
    result = T.compare(table, steps=20)
    assert [x.model for x in result.scores] == ["mlp_onehot", "mlp_embedding", *T.CLASSIFIERS[1:]]
    assert result.shape_before == (225, 9) and result.shape_embedding == (225, 9)
    assert result.positives_test == int(T.split(table).y_test.sum()) and (result.n_train, result.n_test) == (225, 75)
    assert all(0 <= x.pr_auc <= 1 and x.fit_seconds >= 0 for x in result.scores)


# -- CSV: good files --------------------------------------------------------------------------------------------------
def _csv(frame: pd.DataFrame, **kw) -> bytes:
    return frame.to_csv(index=False, **kw).encode()


def test_a_good_csv_gives_the_right_task():
    table = C.read_csv(_csv(T.churn(n=200).raw))
    assert table.notes == [] and table.encoding == "utf-8" and table.delimiter == ","
    tab, notes = C.tabular(table, "churned")
    assert tab.kind == "classification" and tab.class_names == ("leaves", "stays") and tab.positive == 0
    assert set(tab.categorical) == {"plan", "region", "device", "contract"} and notes == []
    tab, _ = C.tabular(table, "monthly_fee")
    assert tab.kind == "regression" and "churned" in tab.categorical
    tab, _ = C.tabular(table, "support_calls")  # whole numbers, few distinct values: classes
    assert tab.kind == "classification" and tab.positive is None


def test_a_regression_csv_runs_the_whole_comparison():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "colour": rng.choice(["red", "blue"], 80),
                          "y": 3 * x[:, 0] - x[:, 1] + rng.normal(0, 0.1, 80)})
    tab, _ = C.tabular(C.read_csv(_csv(frame, sep=";")), "y")
    result = T.compare(tab, steps=20)
    assert [s.model for s in result.scores] == ["mlp_onehot", "mlp_embedding", *T.REGRESSORS[1:]]
    assert result.get("linear").r2 > 0.95 and result.get("mean").r2 < 0.05


# -- CSV: hostile files ---------------------------------------------------------------------------------------------
def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


GOOD_ROWS = "".join(f"{i},{i % 3},{'ab'[i % 2]}\n" for i in range(40))
HOSTILE = {
    "empty": b"",
    "empty_spaces": b"  \n\n ",
    "header_only": b"a,b,c\n",
    "one_column": b"x\n" + b"".join(f"{i}\n".encode() for i in range(40)),
    "duplicate_headers": ("a,b,a\n" + GOOD_ROWS).encode(),
    "binary_png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "binary_nul": b"a,b\n1,2\x00\x00\x00\x01\x02",
    "spreadsheet": _zip(),
    "unparseable": ("a,b,c\n" + GOOD_ROWS + "1,2,3,4,5\n").encode(),
    "too_many_columns": (",".join(f"c{i}" for i in range(C.MAX_COLUMNS + 1)) + "\n").encode() * 2,
    "c1_controls": b"a,b\n\x81\x8d,1\n" * 30,  # neither UTF-8 nor cp1252, and no text in latin-1
    "utf16_without_bom": "a,b\n1,2\n".encode("utf-16-le"),
}
EXPECTED = {"empty": "empty", "empty_spaces": "empty", "header_only": "empty", "one_column": "one_column",
            "duplicate_headers": "duplicate_headers", "binary_png": "binary", "binary_nul": "binary",
            "spreadsheet": "spreadsheet", "unparseable": "unparseable", "too_many_columns": "too_many_columns",
            "c1_controls": "undecodable", "utf16_without_bom": "binary"}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_file_is_refused_with_its_own_problem(case):
    with pytest.raises(C.CsvProblem) as e:
        C.read_csv(HOSTILE[case])
    assert e.value.name == EXPECTED[case]
    for lang in languages():  # the sentence exists, with its values, in every language
        assert e.value.message(lang)


def test_the_size_is_checked_before_anything_is_parsed():
    with pytest.raises(C.CsvProblem) as e:
        C.read_csv(b"\x89PNG" + b"x" * 2000, max_bytes=1000)  # a binary file: but too big comes first
    assert e.value.name == "too_big" and e.value.params["limit"] == 0
    with pytest.raises(C.CsvProblem) as e:
        C.read_csv(b"a,b\n" * (C.MAX_BYTES // 4 + 1))
    assert e.value.name == "too_big" and e.value.params["limit"] == 50


def test_the_unparseable_line_is_named():
    with pytest.raises(C.CsvProblem) as e:
        C.read_csv(HOSTILE["unparseable"])
    assert e.value.params["line"] == "42"  # header, 40 rows, then the bad one


def _tabular(text: str, target: str):
    return C.tabular(C.read_csv(text.encode("utf-8")), target)


@pytest.mark.parametrize(("text", "target", "problem"), [
    ("a,y\n" + "".join(f"{i},1\n" for i in range(30)), "y", "one_target_value"),
    ("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(10)), "y", "too_few_rows"),
    ("a,y\n" + "".join(f"{i},name{i}\n" for i in range(30)), "y", "too_many_classes"),
    ("a,y\n" + "".join(f",{i % 2}\n" for i in range(30)), "y", "no_features"),
    ("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(30)), "z", "no_target"),
    ("a,y\n" + "".join(f"{i},\n" for i in range(30)) + "1,a\n2,b\n", "y", "too_few_rows"),
    ("a,y\n" + "".join(f"{i},a\n" for i in range(30)) + "1,b\n", "y", "one_target_value"),
])
def test_a_target_that_cannot_be_learned_is_refused(text, target, problem):
    with pytest.raises(C.CsvProblem) as e:
        _tabular(text, target)
    assert e.value.name == problem
    assert all(e.value.message(lang) for lang in languages())


def _keys(notes) -> list[str]:
    return [k for k, _ in notes]


def test_what_the_reader_repairs_it_says():
    rows = [f"{i},{'inf' if i == 3 else ('-inf' if i == 4 else i * 0.5)},{'?' if i == 7 else i},café{i % 2},{i % 2}"
            for i in range(30)]
    raw = ("n,x,w,label,y\n" + "\n".join(rows) + "\n").encode("cp1252")
    table = C.read_csv(raw)
    assert table.encoding == "cp1252" and table.frame["label"].iloc[0] == "café0"
    assert {"encoding", "inf", "words_in_numbers"} <= set(_keys(table.notes))
    assert np.isnan(table.frame["x"].iloc[3]) and np.isnan(table.frame["x"].iloc[4])  # inf: missing
    assert table.frame["w"].dtype == np.float64 and np.isnan(table.frame["w"].iloc[7])
    assert dict(table.notes)["inf"] == {"k": 2, "max": "1e+100"}
    for key, values in table.notes:
        assert all(t(f"evaluation.csv.{key}", lang, **values) for lang in languages())


def test_identifier_columns_empty_columns_rare_classes_and_missing_targets_are_left_out_with_a_note():
    n = 60
    frame = pd.DataFrame({"id": [f"user{i}" for i in range(n)], "blank": [""] * n, "x": np.arange(n) * 1.5,
                          "y": ["a", "b"] * 29 + ["c", None]})
    tab, notes = C.tabular(C.read_csv(_csv(frame)), "y")
    assert {"empty_column", "too_many_categories", "rare_classes", "target_missing"} <= set(_keys(notes))
    assert tab.numeric == ("x",) and tab.categorical == () and tab.class_names == ("a", "b") and len(tab.y) == 58


def test_utf16_semicolons_and_a_bom_are_read():
    frame = pd.DataFrame({"größe": np.arange(30) * 1.0, "klasse": ["ja", "nein"] * 15})
    for raw in (frame.to_csv(index=False, sep=";").encode("utf-16"), b"\xef\xbb\xbf" + _csv(frame, sep="\t")):
        table = C.read_csv(raw)
        assert list(table.frame.columns) == ["größe", "klasse"] and table.notes == []
        assert C.tabular(table, C.guess_target(table.frame))[0].kind == "classification"


def test_long_files_are_sampled_with_a_note():
    frame = pd.DataFrame({"x": np.arange(C.MAX_ROWS + 50), "y": np.arange(C.MAX_ROWS + 50) % 2})
    table = C.read_csv(_csv(frame))
    assert len(table.frame) == C.MAX_ROWS and _keys(table.notes) == ["sampled"]


def test_old_mac_line_ends_and_numbers_too_large_to_scale():
    rows = "".join(f"{i},{1e308 if i % 2 else -1e308},{i % 2}\r" for i in range(30))
    table = C.read_csv(("x,big,y\r" + rows).encode())
    assert list(table.frame.columns) == ["x", "big", "y"] and len(table.frame) == 30
    assert dict(table.notes)["inf"]["k"] == 30 and table.frame["big"].isna().all()
    tab, notes = C.tabular(table, "y")
    assert tab.numeric == ("x",) and ("empty_column", {"column": "big"}) in notes


def test_a_numeric_column_empty_in_the_training_rows_keeps_the_columns_in_place():
    f = pd.DataFrame({"a": [np.nan] * 38 + [1.0, 2.0], "b": np.arange(40.0), "c": ["x", "y"] * 20})
    table = T.Tabular("t", f, np.array([0, 1] * 20), "classification", ("a", "b"), ("c",), ("0", "1"), 1)
    y = table.y
    s = T.TabSplit(table, f.iloc[:30].reset_index(drop=True), f.iloc[30:].reset_index(drop=True), y[:30], y[30:])
    assert s.train["a"].isna().all()  # its two values are among the test rows
    enc = T.encode(s, "embedding")
    assert enc.x_train.shape == (30, 3) and enc.cardinalities == (3,) and (enc.x_train[:, 2] >= 1).all()
    assert T.fit_mlp(s, "embedding", steps=5).pred.shape == (10,)
