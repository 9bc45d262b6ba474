"""The Evaluation page's "Your own CSV" tab (lesson 22): a student's CSV, a target column, the detected task, and the
same ColumnTransformer and model comparison as the "Messy tables" tab (app.evaluation_tables.results).

Reading and checking the file is labcore.evaluation.csv_table's (pure, unit-tested): every problem is a CsvProblem
with a catalogue sentence, shown here with st.error; what the reader repaired by itself is shown with st.warning.
A bad file only ever replaces this tab's output: the rest of the page draws as before."""

from __future__ import annotations

import hashlib
import logging

import pandas as pd
import streamlit as st

from app import evaluation_tables as tables_
from app.state import lang, tr
from app.tasks import background
from labcore.data.images import UPLOAD_MB
from labcore.evaluation import csv_table
from labcore.evaluation import tables as T

K = "ev.up."
HEAD = 10
log = logging.getLogger(__name__)


@st.cache_data(show_spinner=False, max_entries=4)
def read(digest: str, _raw: bytes) -> csv_table.CsvTable:
    """The checked table of one file (cached by its digest: the bytes themselves are not hashed on every rerun)."""
    return csv_table.read_csv(_raw)


def _problem(e: csv_table.CsvProblem) -> None:
    st.error(e.message(lang()), icon=":material/error:")


def _notes(notes: list[csv_table.Note]) -> None:
    for key, values in notes:
        st.warning(tr(f"evaluation.csv.{key}", **values), icon=":material/warning:")


def panel(open_: bool) -> None:
    st.markdown(tr("evaluation.upload.intro"))
    upload = st.file_uploader(tr("evaluation.upload.file"), type=["csv", "tsv", "txt"], key=K + "file",
                              max_upload_size=UPLOAD_MB, help=tr("evaluation.upload.limit", mb=UPLOAD_MB))
    if upload is None:
        st.info(tr("evaluation.upload.prompt"), icon=":material/upload_file:")
        return
    if not open_:  # a file stays chosen while another tab is open; it is read and fitted only here
        return
    raw = upload.getvalue()
    digest = hashlib.sha1(raw).hexdigest()
    try:
        table = read(digest, raw) if len(raw) <= csv_table.MAX_BYTES else csv_table.read_csv(raw)
    except csv_table.CsvProblem as e:
        _problem(e)
        return
    except Exception:  # anything unforeseen: a sentence on screen, the traceback in the server log
        log.exception("reading an uploaded CSV failed")
        st.error(tr("evaluation.csv.unexpected"), icon=":material/error:")
        return
    st.markdown(tr("evaluation.upload.read", rows=len(table.frame), cols=table.frame.shape[1], enc=table.encoding,
                   sep=repr(table.delimiter)))
    st.dataframe(table.frame.head(HEAD), key=K + "head")
    columns = list(table.frame.columns)
    target = st.selectbox(tr("evaluation.upload.target"), columns, index=columns.index(csv_table.guess_target(table.frame)),
                          key=K + "target." + digest[:12])
    encoding = st.segmented_control(tr("evaluation.tables.encoding"), T.ENCODINGS, key=K + "encoding", required=True,
                                    default=T.ENCODINGS[0], format_func=lambda n: tr(f"evaluation.tables.enc_{n}"))
    try:
        tab, notes = csv_table.tabular(table, target)
    except csv_table.CsvProblem as e:
        _notes(table.notes)
        _problem(e)
        return
    _notes(notes)
    _task(tab)
    result = background(("evaluation.upload", digest, target), tr("evaluation.upload.fitting"), T.compare, tab)
    if result is None:  # still fitting (a progress bar is drawn), or failed (the error is shown)
        return
    tables_.results(tab, result, encoding, K)


def _task(tab: T.Tabular) -> None:
    if tab.kind == "regression":
        st.markdown(tr("evaluation.upload.task_regression", target=tab.target, n=len(tab.y),
                       lo=f"{tab.y.min():.4g}", hi=f"{tab.y.max():.4g}"))
    else:
        counts = pd.Series(tab.y).value_counts().sort_index()
        classes = ", ".join(f"{tab.class_names[i]} ({counts.get(i, 0)})" for i in range(len(tab.class_names)))
        st.markdown(tr("evaluation.upload.task_classification", target=tab.target, k=len(tab.class_names),
                       classes=classes, max=csv_table.MAX_CLASSES))
        if tab.positive is not None:
            st.caption(tr("evaluation.upload.positive", name=tab.class_names[tab.positive]))
    st.caption(tr("evaluation.upload.features", numeric=len(tab.numeric), categorical=len(tab.categorical)))
