"""The Evaluation page's "Messy tables" tab (lesson 22): a generated imbalanced fraud table and a churn table with
categories and missing values, their scikit-learn ColumnTransformer, an MLP (one-hot or embeddings) and the classic
models on the same split. Numbers from labcore.evaluation.tables (sklearn.metrics); the fits (a few seconds in all)
are one engine task per table. `results` also draws the "Your own CSV" tab's comparison (app.evaluation_upload)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.state import tr
from app.tasks import background
from labcore.evaluation import tables as T

K = "ev.tbl."
HEAD = 12  # rows of the raw table shown
RARE = 0.1  # a positive class at most this share of the test rows gets the note on accuracy against PR-AUC


@st.cache_data(show_spinner=False, max_entries=4)
def load(name: str) -> T.Tabular:
    return T.load(name)


def compare(name: str, progress=None) -> T.Comparison:
    """Two MLPs and five classic models on one table: a few seconds, so an engine task (app.tasks)."""
    return T.compare(T.load(name), progress=progress)


def _pct(x: float) -> str:
    return f"{x:.1%}"


def panel(open_: bool) -> None:
    st.markdown(tr("evaluation.tables.intro"))
    left, right = st.columns(2)
    name = left.segmented_control(tr("evaluation.tables.data"), T.TABLES, key=K + "data", required=True,
                                  format_func=lambda n: tr(f"evaluation.tables.name_{n}"))
    encoding = right.segmented_control(tr("evaluation.tables.encoding"), T.ENCODINGS, key=K + "encoding", required=True,
                                       format_func=lambda n: tr(f"evaluation.tables.enc_{n}"),
                                       help=tr("evaluation.tables.encoding_help", dim=T.MAX_EMBED))
    if not open_:  # the table and the fits only when this tab is open
        return
    table = load(name)
    positives = int((table.y == table.positive).sum())
    st.markdown(tr(f"evaluation.tables.about_{name}", n=len(table.y), k=positives, share=_pct(positives / len(table.y))))
    st.dataframe(table.raw.head(HEAD), key=K + "head")
    missing = table.frame.isna().mean()
    if missing.any():
        st.markdown(tr("evaluation.tables.missing", cols=", ".join(f"{c} {_pct(v)}" for c, v in missing.items() if v)))
    result = background(("evaluation.tables", name), tr("evaluation.tables.fitting"), compare, name)
    if result is None:  # still fitting (a progress bar is drawn), or failed (the error is shown)
        return
    results(table, result, encoding, K)


def _model(name: str) -> str:
    return tr(f"evaluation.tables.model.{name}")


def structure(result: T.Comparison, encoding: str, categorical: bool) -> None:
    """The fitted ColumnTransformer as a small table, and the shape before and after it."""
    blocks = result.blocks_embedding if encoding == "embedding" else result.blocks_onehot
    st.subheader(tr("evaluation.tables.structure_title"))
    st.dataframe(pd.DataFrame({
        tr("evaluation.tables.col_block"): [tr(f"evaluation.tables.block_{b.name}") for b in blocks],
        tr("evaluation.tables.col_in"): [b.n_in for b in blocks],
        tr("evaluation.tables.col_out"): [b.n_out for b in blocks],
        tr("evaluation.tables.col_steps"): [" → ".join(b.steps) for b in blocks],
        tr("evaluation.tables.col_columns"): [", ".join(b.columns) for b in blocks]}), hide_index=True, key=K + "structure")
    after = result.shape_embedding if encoding == "embedding" else result.shape_onehot
    st.markdown(tr("evaluation.tables.shape", rows=result.shape_before[0], before=result.shape_before[1],
                   after=after[1]))
    if encoding == "embedding" and categorical:
        st.caption(tr("evaluation.tables.embedding_note", dim=T.MAX_EMBED))


def results(table: T.Tabular, result: T.Comparison, encoding: str, key: str) -> None:
    """The structure, then the chosen MLP next to the classic models (drawn under widget keys starting with `key`)."""
    categorical = bool(table.categorical)
    encoding = encoding if categorical else "onehot"
    structure(result, encoding, categorical)
    mlp = f"mlp_{encoding}"
    shown = [result.get(mlp)] + [s for s in result.scores if not s.model.startswith("mlp_")]
    names = [_model(s.model) for s in shown]
    col_time = tr("evaluation.col_seconds")
    if table.kind == "classification":
        # percentages with one decimal each (streamlit's "percent" drops trailing zeros: 64.29 %, 64.5 %)
        data = {tr("evaluation.col_model"): names, tr("evaluation.col_accuracy"): [100 * s.accuracy for s in shown],
                tr("evaluation.col_balanced"): [100 * s.balanced_accuracy for s in shown]}
        fmt = {tr("evaluation.col_accuracy"): "%.1f %%", tr("evaluation.col_balanced"): "%.1f %%"}
        if table.positive is not None:
            data[tr("evaluation.tables.col_pr_auc")] = [s.pr_auc for s in shown]
            fmt[tr("evaluation.tables.col_pr_auc")] = "%.3f"
    else:
        data = {tr("evaluation.col_model"): names, "R²": [s.r2 for s in shown], "MAE": [s.mae for s in shown]}
        fmt = {"R²": "%.3f", "MAE": "%.3g"}
    data[col_time] = [s.fit_seconds for s in shown]
    fmt[col_time] = "%.3f"
    st.subheader(tr("evaluation.tables.scores_title"))
    st.dataframe(pd.DataFrame(data), hide_index=True, key=key + "scores",
                 column_config={c: st.column_config.NumberColumn(format=f) for c, f in fmt.items()})
    _notes(table, result, encoding, categorical)


def _metric(table: T.Tabular) -> str:
    """The number the verdict compares: R² for values, PR-AUC for two classes, else balanced accuracy."""
    if table.kind == "regression":
        return "r2"
    return "pr_auc" if table.positive is not None else "balanced_accuracy"


def _notes(table: T.Tabular, result: T.Comparison, encoding: str, categorical: bool) -> None:
    metric = _metric(table)
    classic = [s for s in result.scores if not s.model.startswith("mlp_") and s.model != "mean"]
    mlp = result.get(f"mlp_{encoding}")
    best = max(classic, key=lambda s: getattr(s, metric))  # the first on a tie
    st.markdown(tr(f"evaluation.tables.verdict_{metric}", mlp=f"{getattr(mlp, metric):.3f}", best=_model(best.model),
                   value=f"{getattr(best, metric):.3f}"))
    if table.kind == "regression":
        mean = result.get("mean")
        st.markdown(tr("evaluation.tables.mean_note", r2=f"{mean.r2:.3f}", mae=f"{mean.mae:.3g}"))
    elif table.positive is not None and result.positives_test <= RARE * result.n_test:
        share = result.positives_test / result.n_test
        st.markdown(tr("evaluation.tables.pr_note", k=result.positives_test, n=result.n_test, share=_pct(share),
                       acc=_pct(1 - share)))
    if categorical:
        other = result.get("mlp_embedding" if encoding == "onehot" else "mlp_onehot")
        st.markdown(tr(f"evaluation.tables.other_{metric}", model=_model(other.model),
                       value=f"{getattr(other, metric):.3f}"))
    native, boosting = result.get("boosting_native"), result.get("boosting")
    has_nan = bool(np.asarray(table.frame.isna()).any())
    st.markdown(tr("evaluation.tables.native_note" if has_nan or categorical else "evaluation.tables.native_note_clean",
                   native=f"{native.fit_seconds:.2f}", onehot=f"{boosting.fit_seconds:.2f}"))
    st.caption(tr("evaluation.tables.caption", train=result.n_train, test=result.n_test, steps=T.STEPS,
                  wd=T.DECAY, share=_pct(T.TEST_SHARE)))
