"""A student's own CSV for the deep-vs-classic comparison (lesson 22): read it defensively, pick a target, detect
the task, and hand labcore.evaluation.tables a `Tabular`.

Everything a hostile or broken file can do ends in a `CsvProblem` (a LabError: a catalogue key under
"evaluation.csv." and its values), never in a traceback: too big (checked before parsing), empty, binary (or a
spreadsheet renamed .csv), undecodable, unparseable, duplicate headers, a single column, too many columns, too few
rows, a constant target, a target with too many classes, no usable feature. What the reader fixes by itself
(a latin-1 file, ±inf, a few words in a numeric column, empty or identifier-like columns, rows without a target,
a very long file) it says in `notes`: (key, values) pairs the page shows as warnings."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labcore.data.images import UPLOAD_MB
from labcore.evaluation.tables import Tabular
from labcore.i18n import LabError

MAX_BYTES = UPLOAD_MB * 2**20  # the uploader's limit too (.streamlit/config.toml server.maxUploadSize)
MAX_COLUMNS = 200
MAX_ABS = 1e100  # larger numbers overflow the standardisation (their squares): treated as missing, like ±inf
MAX_ROWS = 10_000  # longer files are sampled down to this many rows (seeded), so the comparison stays short
MIN_ROWS = 20  # fewer rows cannot make a training and a test split worth scoring
ROWS_PER_CLASS = 4  # with K classes, at least 4K rows: the quarter held out for testing has one of each
MIN_CLASS_ROWS = 2  # a class needs a row on each side of a stratified split
MAX_CLASSES = 20  # a target with more distinct values: a number (regression) or, if text, refused
MAX_CATEGORIES = 50  # a text column with more distinct values is an identifier or free text: left out
NUMERIC_SHARE = 0.9  # a text column whose non-empty cells are at least this share numbers is a numeric column
SEED = 0
PROBLEMS = ("too_big", "empty", "binary", "spreadsheet", "undecodable", "unparseable", "duplicate_headers",
            "one_column", "too_many_columns", "too_few_rows", "no_target", "one_target_value", "too_many_classes",
            "no_features")
_MAGIC = {b"PK\x03\x04": "spreadsheet", b"\xd0\xcf\x11\xe0": "spreadsheet", b"%PDF": "binary", b"\x89PNG": "binary",
          b"\xff\xd8\xff": "binary", b"GIF8": "binary", b"\x1f\x8b": "binary", b"7z\xbc\xaf": "binary",
          b"Rar!": "binary", b"SQLite format": "binary", b"PAR1": "binary"}


class CsvProblem(LabError):
    """Why a file cannot be used: `name` is one of PROBLEMS, the catalogue key is "evaluation.csv.<name>"."""

    def __init__(self, name: str, **values: object):
        self.name = name
        super().__init__(f"evaluation.csv.{name}", **values)


Note = tuple[str, dict]  # a catalogue key under "evaluation.csv." and its values


@dataclass
class CsvTable:
    frame: pd.DataFrame  # numbers as float64 (±inf already missing), everything else as text or missing
    encoding: str
    delimiter: str
    notes: list[Note] = field(default_factory=list)


def _decode(raw: bytes, notes: list[Note]) -> tuple[str, str]:
    """The text and the encoding it was read with: UTF-8 (with or without its BOM), UTF-16 with a BOM, else cp1252
    or latin-1 (with a note: accented letters may come out wrong)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark (Excel's "Unicode text")
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise CsvProblem("undecodable") from None
    for magic, problem in _MAGIC.items():
        if raw.startswith(magic):
            raise CsvProblem(problem)
    if b"\x00" in raw[:65536]:
        raise CsvProblem("binary")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):  # latin-1 decodes any bytes: control characters decide below
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        notes.append(("encoding", {"encoding": encoding}))
        return text, encoding
    raise CsvProblem("undecodable")  # pragma: no cover (latin-1 decodes everything)


def _odd_share(text: str, low: int, high: int) -> bool:
    """Whether more than 1 % of the first 64 K characters are control characters in [low, high) (tab and newlines
    aside): text has next to none."""
    sample = text[:65536]
    odd = sum(1 for ch in sample if low <= ord(ch) < high and ch not in "\t\r\n")
    return odd > max(2, len(sample) // 100)


def _delimiter(text: str) -> str:
    sample = "\n".join(text[:65536].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(raw: bytes, max_bytes: int = MAX_BYTES) -> CsvTable:
    """The file's table, checked and cleaned (see the module's doc); raises CsvProblem."""
    if len(raw) > max_bytes:  # before anything is parsed
        raise CsvProblem("too_big", mb=f"{len(raw) / 2**20:.1f}", limit=max_bytes // 2**20)
    if not raw.strip():
        raise CsvProblem("empty")
    notes: list[Note] = []
    text, encoding = _decode(raw, notes)
    if _odd_share(text, 0, 32) or _odd_share(text, 0x7F, 0x80):
        raise CsvProblem("binary")
    if _odd_share(text, 0x80, 0xA0):  # C1 controls: bytes that latin-1 let through but no text encoding here means
        raise CsvProblem("undecodable")
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # old Mac line ends too
    if not text.strip():
        raise CsvProblem("empty")
    delimiter = _delimiter(text)
    try:
        header = next(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))
    except (csv.Error, StopIteration):
        raise CsvProblem("unparseable", line=1) from None
    names = [h.strip() for h in header]
    seen, dupes = set(), []
    for n in names:
        if not n:  # a blank header: pandas names it "Unnamed: i"
            continue
        if n in seen and n not in dupes:
            dupes.append(n)
        seen.add(n)
    if dupes:
        raise CsvProblem("duplicate_headers", names=", ".join(repr(d) for d in dupes[:5]))
    if len(names) > MAX_COLUMNS:
        raise CsvProblem("too_many_columns", n=len(names), max=MAX_COLUMNS)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=True, skipinitialspace=True,
                            on_bad_lines="error", engine="c")
    except pd.errors.EmptyDataError:
        raise CsvProblem("empty") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as e:
        raise CsvProblem("unparseable", line=_bad_line(str(e))) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.shape[1] < 2:
        raise CsvProblem("one_column", n=frame.shape[1])
    frame = frame.dropna(how="all")
    if len(frame) == 0:
        raise CsvProblem("empty")
    if len(frame) > MAX_ROWS:
        notes.append(("sampled", {"n": len(frame), "max": MAX_ROWS}))
        frame = frame.sample(n=MAX_ROWS, random_state=SEED).sort_index()
    frame = frame.reset_index(drop=True)
    return CsvTable(_typed(frame, notes), encoding, delimiter, notes)


def _bad_line(message: str) -> str:
    """The line number pandas names in its parser error ("Expected 3 fields in line 7, saw 5"), or "?"."""
    words = message.replace(",", " ").split()
    for i, w in enumerate(words[:-1]):
        if w == "line" and words[i + 1].isdigit():
            return words[i + 1]
    return "?"


def _typed(frame: pd.DataFrame, notes: list[Note]) -> pd.DataFrame:
    """Each column as numbers (float64, ±inf made missing) when nearly all its cells are numbers, else as text."""
    out = {}
    inf = 0
    for c in frame.columns:
        text = frame[c].str.strip()
        text = text.where(text != "", None)
        filled = int(text.notna().sum())
        if filled == 0:
            notes.append(("empty_column", {"column": c}))
            continue
        numbers = pd.to_numeric(text, errors="coerce")
        words = int((numbers.isna() & text.notna()).sum())
        if words and (filled - words) >= NUMERIC_SHARE * filled:
            examples = ", ".join(repr(v) for v in text[numbers.isna() & text.notna()].unique()[:3])
            notes.append(("words_in_numbers", {"column": c, "k": words, "examples": examples}))
            words = 0
        if words == 0:
            values = numbers.to_numpy(dtype=np.float64, copy=True)
            bad = ~(np.abs(values) <= MAX_ABS) & ~np.isnan(values)
            inf += int(bad.sum())
            values[bad] = np.nan
            out[c] = values
        else:
            out[c] = text.astype(object).where(text.notna(), None)
    if inf:
        notes.append(("inf", {"k": inf, "max": f"{MAX_ABS:g}"}))
    return pd.DataFrame(out, index=frame.index)


def guess_target(frame: pd.DataFrame) -> str:
    """The last column: where most tables keep the label."""
    return str(frame.columns[-1])


def task_kind(values: pd.Series) -> str:
    """Classification for text (or True/False) and for whole numbers with at most MAX_CLASSES distinct values;
    regression for every other number."""
    v = values.dropna()
    if v.dtype == object or v.dtype == bool:
        return "classification"
    if np.all(np.mod(v.to_numpy(dtype=np.float64), 1) == 0) and v.nunique() <= MAX_CLASSES:
        return "classification"
    return "regression"


def tabular(table: CsvTable, target: str, name: str = "upload") -> tuple[Tabular, list[Note]]:
    """The table with `target` as what to predict: its rows without a target dropped, its rare classes (fewer than
    MIN_CLASS_ROWS rows) dropped, its feature columns numeric or categorical (identifier-like text left out).
    Raises CsvProblem; the notes are the reader's plus this step's."""
    frame = table.frame
    notes = list(table.notes)
    if target not in frame.columns:
        raise CsvProblem("no_target", column=target)
    y_raw = frame[target]
    missing = int(y_raw.isna().sum())
    if missing:
        notes.append(("target_missing", {"k": missing}))
        frame, y_raw = frame[y_raw.notna()], y_raw[y_raw.notna()]
    if y_raw.nunique() < 2:
        raise CsvProblem("one_target_value", column=target, value=_label(y_raw.iloc[0]) if len(y_raw) else "—")
    kind = task_kind(y_raw)
    class_names: tuple[str, ...] = ()
    positive = None
    if kind == "classification":
        if y_raw.nunique() > MAX_CLASSES:
            raise CsvProblem("too_many_classes", column=target, n=int(y_raw.nunique()), max=MAX_CLASSES)
        labels = y_raw.map(_label)
        counts = labels.value_counts()
        rare = counts[counts < MIN_CLASS_ROWS]
        if len(rare):
            notes.append(("rare_classes", {"classes": ", ".join(repr(r) for r in rare.index[:5]), "k": int(rare.sum())}))
            keep = ~labels.isin(rare.index)
            frame, labels = frame[keep], labels[keep]
            if len(labels) < MIN_ROWS:
                raise CsvProblem("too_few_rows", n=len(labels), min=MIN_ROWS)
            if labels.nunique() < 2:
                raise CsvProblem("one_target_value", column=target, value=str(labels.iloc[0]))
        class_names = tuple(sorted(labels.unique(), key=_natural))
        y = labels.map({c: i for i, c in enumerate(class_names)}).to_numpy(dtype=np.int64)
        if len(class_names) == 2:
            positive = int(np.argmin(np.bincount(y, minlength=2)))  # the rarer class (on a tie the second)
            if np.bincount(y)[0] == np.bincount(y)[1]:
                positive = 1
    else:
        y = y_raw.to_numpy(dtype=np.float64)
    need = max(MIN_ROWS, ROWS_PER_CLASS * len(class_names))  # a quarter for testing: one row of each class at least
    if len(y) < need:
        raise CsvProblem("too_few_rows", n=len(y), min=need)
    features = frame.drop(columns=[target]).reset_index(drop=True)
    numeric, categorical = [], []
    for c in features.columns:
        if features[c].isna().all():  # nothing left in it (say, only ±inf, or only in rows without a target)
            notes.append(("empty_column", {"column": c}))
            continue
        if features[c].dtype == object:
            k = int(features[c].nunique())
            if k > MAX_CATEGORIES:
                notes.append(("too_many_categories", {"column": c, "k": k, "max": MAX_CATEGORIES}))
                continue
            categorical.append(c)
        else:
            numeric.append(c)
    if not numeric and not categorical:
        raise CsvProblem("no_features")
    features = features[numeric + categorical]
    return Tabular(name, features, y, kind, tuple(numeric), tuple(categorical), class_names, positive, target), notes


def _label(v: object) -> str:
    """A class's name as the file wrote it: 1.0 read as a number shows as "1"."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _natural(label: str) -> tuple:
    """Numbers in numeric order ("2" before "10"), then text."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)
