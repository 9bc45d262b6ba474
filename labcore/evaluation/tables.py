"""Messy tables (lesson 22): two seeded, generated tables that look like real work, the scikit-learn preprocessing
they need, and a small MLP (one-hot or with embeddings) against the classic models on the same split.

- "fraud": card payments, about 3 % of them fraud (imbalanced: accuracy flatters, PR-AUC does not);
- "churn": customers with categorical columns (plan, region, device, contract) and missing values.

Preprocessing is one real `ColumnTransformer`: numbers median-imputed and standardised, categories imputed with a
"(missing)" category of their own and one-hot encoded. The embedding MLP reads the categories as integer codes
(`OrdinalEncoder`, 0 = unknown) through one `nn.Embedding` per column. HistGradientBoosting also runs on the raw
table ("boosting_native"): it splits on NaN and on categories natively, with no imputation or one-hot at all.

The same comparison serves a user's own CSV (labcore.evaluation.csv_table builds the `Tabular`). Every metric is
sklearn.metrics' on the test predictions."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn import metrics as skm
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits
from torch import nn

from labcore.evaluation.models import train_full_batch
from labcore.explain.features import single_thread
from labcore.seeding import init_rng

TABLES = ("fraud", "churn")
ENCODINGS = ("onehot", "embedding")
CLASSIFIERS = ("mlp", "logreg", "forest", "boosting", "boosting_native", "knn")  # "mlp": the chosen encoding's
REGRESSORS = ("mlp", "mean", "linear", "forest", "boosting", "boosting_native")
MISSING = "(missing)"  # the category a missing categorical value becomes
TEST_SHARE = 0.25
SEED = 0
STEPS = 300  # full-batch AdamW steps of either MLP
WIDTH = 32
LR = 0.01
DECAY = 1.0  # AdamW decoupled weight decay, as on the other tabs: without it the MLPs overfit within 300 steps
MAX_EMBED = 8  # an embedding has min(MAX_EMBED, (categories + 1) // 2) dimensions


@dataclass(frozen=True)
class Tabular:
    """A table to learn from: the raw feature columns (NaN and all) and the target."""

    name: str
    frame: pd.DataFrame  # features only, raw
    y: np.ndarray  # class indices (int64) or values (float64)
    kind: str  # "classification" | "regression"
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    class_names: tuple[str, ...] = ()
    positive: int | None = None  # two classes: the rare one, whose PR-AUC is reported
    target: str = "target"  # the target column's name

    @property
    def raw(self) -> pd.DataFrame:
        """The table as it would be read from a file: features and the target."""
        target = np.asarray(self.class_names, dtype=object)[self.y] if self.kind == "classification" else self.y
        return self.frame.assign(**{self.target: target})


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _calibrate(z: np.ndarray, rate: float) -> float:
    """The offset b with mean(sigmoid(z + b)) = rate (bisection): the positive rate is set, not left to chance."""
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _sigmoid(z + mid).mean() < rate else (lo, mid)
    return (lo + hi) / 2


def fraud(n: int = 4000, seed: int = SEED, rate: float = 0.03) -> Tabular:
    """Card payments: fraud is likelier at night, for large amounts far from home, at risky merchants, in bursts of
    payments, on young accounts, and for electronics or travel bought online. About `rate` of the rows are fraud."""
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(3.5, 1.0, n), 2)
    hour = rng.integers(0, 24, n)
    distance = np.round(rng.lognormal(1.5, 1.2, n), 1)
    risk = np.round(rng.beta(2, 8, n), 3)
    tx_24h = rng.poisson(3, n)
    age_days = rng.integers(1, 3650, n)
    category = rng.choice(["grocery", "fuel", "restaurant", "online", "electronics", "travel"], n,
                          p=[0.3, 0.15, 0.2, 0.2, 0.08, 0.07])
    channel = rng.choice(["chip", "contactless", "online"], n, p=[0.4, 0.35, 0.25])
    z = (3.5 * (amount > 200) + 3.0 * (hour < 6) + 10.0 * risk + 2.5 * (distance > 20) + 0.6 * tx_24h
         - 2.0 * (age_days > 365) + 3.0 * (np.isin(category, ["electronics", "travel"]) & (channel == "online")))
    p = _sigmoid(z + _calibrate(z, rate))
    y = (rng.random(n) < p).astype(np.int64)
    frame = pd.DataFrame({"amount": amount, "hour": hour, "distance_km": distance, "merchant_risk": risk,
                          "payments_24h": tx_24h, "account_age_days": age_days, "merchant_category": category,
                          "channel": channel})
    return Tabular("fraud", frame, y, "classification", ("amount", "hour", "distance_km", "merchant_risk",
                   "payments_24h", "account_age_days"), ("merchant_category", "channel"), ("legit", "fraud"), 1, "is_fraud")


def churn(n: int = 3000, seed: int = SEED) -> Tabular:
    """Customers of a phone company, about a quarter of whom leave: monthly contracts, many support calls, little
    use and a short tenure predict it. Usage is missing more often for those who leave (missing is informative);
    age, region and device are missing at random."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "standard", "premium"], n, p=[0.5, 0.3, 0.2])
    region = rng.choice(["north", "south", "east", "west", "centre"], n).astype(object)
    device = rng.choice(["android", "ios", "web", "desktop"], n, p=[0.45, 0.3, 0.15, 0.1]).astype(object)
    contract = rng.choice(["monthly", "yearly", "two-year"], n, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(1, 73, n)
    fee = np.round(np.select([plan == "basic", plan == "standard"], [15.0, 30.0], 55.0) + rng.normal(0, 4, n), 2)
    calls = rng.poisson(1.5, n)
    usage = np.round(rng.gamma(2.0, 10.0, n), 1)
    age = rng.integers(18, 81, n).astype(np.float64)
    z = (1.6 * (contract == "monthly") - 0.8 * (contract == "two-year") - 0.035 * tenure + 0.45 * calls
         - 0.03 * usage + 0.9 * ((plan == "basic") & (device == "web")) + 0.02 * (fee - 30))
    y = (rng.random(n) < _sigmoid(z + _calibrate(z, 0.25))).astype(np.int64)
    usage[rng.random(n) < 0.06 + 0.2 * y] = np.nan
    age[rng.random(n) < 0.1] = np.nan
    region[rng.random(n) < 0.06] = None
    device[rng.random(n) < 0.08] = None
    frame = pd.DataFrame({"plan": plan, "region": region, "device": device, "contract": contract,
                          "tenure_months": tenure, "monthly_fee": fee, "support_calls": calls, "usage_hours": usage,
                          "age": age})
    return Tabular("churn", frame, y, "classification", ("tenure_months", "monthly_fee", "support_calls",
                   "usage_hours", "age"), ("plan", "region", "device", "contract"), ("stays", "leaves"), 1, "churned")


def load(name: str, seed: int = SEED) -> Tabular:
    if name == "fraud":
        return fraud(seed=seed)
    if name == "churn":
        return churn(seed=seed)
    raise ValueError(f"unknown table {name!r}")


# -- preprocessing -------------------------------------------------------------------------------------------------
def _categories_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical cells as strings (numbers in a category column, True/False...), missing ones as NaN."""
    return frame.astype(object).where(frame.notna(), np.nan).map(_text)


def _text(v: object) -> object:
    return v if isinstance(v, float) and np.isnan(v) else str(v)


def preprocessor(numeric: tuple[str, ...], categorical: tuple[str, ...], encoding: str = "onehot") -> ColumnTransformer:
    """Numbers: median imputation, then standardisation. Categories: a "(missing)" category for the missing ones,
    then one-hot ("onehot") or integer codes ("embedding": 0 is a category unseen in training)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}")
    # keep_empty_features: a column empty in the training rows stays (as zeros), so the columns keep their places
    numbers = Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)), ("scale", StandardScaler())])
    if encoding == "onehot":
        code = ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))
    else:
        code = ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1))
    categories = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=MISSING)), code])
    blocks = []
    if numeric:
        blocks.append(("numbers", numbers, list(numeric)))
    if categorical:
        blocks.append(("categories", categories, list(categorical)))
    return ColumnTransformer(blocks, remainder="drop", verbose_feature_names_out=False)


def _as_input(frame: pd.DataFrame, categorical: tuple[str, ...]) -> pd.DataFrame:
    if not categorical:
        return frame
    return frame.assign(**{c: _categories_as_text(frame[[c]])[c] for c in categorical})


@dataclass(frozen=True)
class Block:
    """One part of a fitted ColumnTransformer, for the page's structure table."""

    name: str  # "numbers" | "categories"
    columns: tuple[str, ...]
    steps: tuple[str, ...]  # each step's repr, as scikit-learn prints it
    n_in: int
    n_out: int


def structure(ct: ColumnTransformer) -> list[Block]:
    """The fitted transformer's blocks: which columns go through which steps, and how many columns come out."""
    out = []
    for name, pipe, columns in ct.transformers_:
        if name == "remainder":
            continue
        width = len(pipe.get_feature_names_out(columns))
        steps = tuple(repr(step) for _, step in pipe.steps)
        out.append(Block(name, tuple(columns), steps, len(columns), width))
    return out


# -- split and encoded matrices -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TabSplit:
    table: Tabular
    train: pd.DataFrame
    test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray


def split(table: Tabular, seed: int = SEED, test_share: float = TEST_SHARE) -> TabSplit:
    """A seeded split; stratified for classification (every class keeps its share on both sides)."""
    strat = table.y if table.kind == "classification" else None
    tr_idx, te_idx = train_test_split(np.arange(len(table.y)), test_size=test_share, random_state=seed, stratify=strat)
    f = table.frame.reset_index(drop=True)
    return TabSplit(table, f.iloc[tr_idx].reset_index(drop=True), f.iloc[te_idx].reset_index(drop=True),
                    table.y[tr_idx], table.y[te_idx])


@dataclass(frozen=True)
class Encoded:
    x_train: np.ndarray  # float32
    x_test: np.ndarray
    transformer: ColumnTransformer
    n_numeric: int  # embedding: the first n_numeric columns are numbers, the rest integer codes
    cardinalities: tuple[int, ...]  # embedding: per categorical column, its categories + 1 (0: unknown)


def encode(s: TabSplit, encoding: str = "onehot") -> Encoded:
    """The ColumnTransformer fitted on the training rows alone and applied to both sides."""
    t = s.table
    ct = preprocessor(t.numeric, t.categorical, encoding)
    x_train = ct.fit_transform(_as_input(s.train, t.categorical)).astype(np.float32)
    x_test = ct.transform(_as_input(s.test, t.categorical)).astype(np.float32)
    cards: tuple[int, ...] = ()
    if encoding == "embedding" and t.categorical:
        n = len(t.numeric)
        x_train[:, n:] += 1  # -1 (unseen) becomes 0, the known categories 1..k
        x_test[:, n:] += 1
        cards = tuple(len(c) + 1 for c in ct.named_transformers_["categories"].named_steps["ordinal"].categories_)
    return Encoded(x_train, x_test, ct, len(t.numeric), cards)


# -- the MLPs ------------------------------------------------------------------------------------------------------
def embed_dim(cardinality: int) -> int:
    return max(1, min(MAX_EMBED, cardinality // 2))


class EmbeddingMLP(nn.Module):
    """The numbers as they are, each categorical column through its own nn.Embedding, then the same two hidden layers
    of 32 ReLUs as the one-hot MLP."""

    def __init__(self, n_numeric: int, cardinalities: tuple[int, ...], n_out: int, width: int = WIDTH):
        super().__init__()
        self.n_numeric = n_numeric
        self.embeddings = nn.ModuleList(nn.Embedding(c, embed_dim(c)) for c in cardinalities)
        n_in = n_numeric + sum(e.embedding_dim for e in self.embeddings)
        self.body = nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                  nn.Linear(width, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes = x[:, self.n_numeric:].long()
        parts = [x[:, :self.n_numeric]] + [e(codes[:, i]) for i, e in enumerate(self.embeddings)]
        return self.body(torch.cat(parts, dim=1))


def build_mlp(enc: Encoded, n_out: int, encoding: str, seed: int = SEED) -> nn.Module:
    with init_rng(seed):
        if encoding == "embedding" and enc.cardinalities:
            return EmbeddingMLP(enc.n_numeric, enc.cardinalities, n_out)
        return nn.Sequential(nn.Linear(enc.x_train.shape[1], WIDTH), nn.ReLU(), nn.Linear(WIDTH, WIDTH), nn.ReLU(),
                             nn.Linear(WIDTH, n_out))


@dataclass(frozen=True)
class Fitted:
    model: str  # a name of CLASSIFIERS / REGRESSORS, or "mlp_onehot" / "mlp_embedding"
    pred: np.ndarray  # test predictions: class indices, or values
    proba: np.ndarray | None  # classification: (n_test, K) probabilities
    seconds: float  # training only


def fit_mlp(s: TabSplit, encoding: str = "onehot", steps: int = STEPS, seed: int = SEED) -> Fitted:
    """Full-batch AdamW on cross-entropy (classes) or MSE on the standardised target (values)."""
    enc = encode(s, encoding)
    classes = s.table.kind == "classification"
    n_out = len(s.table.class_names) if classes else 1
    model = build_mlp(enc, n_out, encoding, seed)
    x = torch.from_numpy(enc.x_train)
    if classes:
        y = torch.from_numpy(s.y_train).long()
    else:
        mu, sd = float(s.y_train.mean()), float(s.y_train.std()) or 1.0
        y = torch.from_numpy(((s.y_train - mu) / sd).astype(np.float32))
    def loss_of(out: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y) if classes else F.mse_loss(out.squeeze(1), y)

    with single_thread():
        seconds = train_full_batch(model, x, loss_of, steps, LR, DECAY)
        with torch.no_grad():
            out = model(torch.from_numpy(enc.x_test)).numpy().astype(np.float64)
    name = f"mlp_{encoding}"
    if classes:
        e = np.exp(out - out.max(axis=1, keepdims=True))
        proba = e / e.sum(axis=1, keepdims=True)
        return Fitted(name, proba.argmax(axis=1), proba, seconds)
    return Fitted(name, out[:, 0] * sd + mu, None, seconds)


# -- the classic models --------------------------------------------------------------------------------------------
def _classic(name: str, kind: str, seed: int):
    if kind == "classification":
        return {"logreg": lambda: LogisticRegression(max_iter=2000),
                "forest": lambda: RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=seed),
                "boosting": lambda: HistGradientBoostingClassifier(max_iter=100, random_state=seed),
                "boosting_native": lambda: HistGradientBoostingClassifier(max_iter=100, random_state=seed,
                                                                          categorical_features="from_dtype"),
                "knn": lambda: KNeighborsClassifier(n_neighbors=5)}[name]()
    return {"mean": lambda: DummyRegressor(strategy="mean"),
            "linear": lambda: LinearRegression(),
            "forest": lambda: RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=seed),
            "boosting": lambda: HistGradientBoostingRegressor(max_iter=100, random_state=seed),
            "boosting_native": lambda: HistGradientBoostingRegressor(max_iter=100, random_state=seed,
                                                                     categorical_features="from_dtype")}[name]()


def native_frame(frame: pd.DataFrame, table: Tabular, categories: dict[str, list[str]]) -> pd.DataFrame:
    """The raw table for HistGradientBoosting's native handling: NaN left in, categories as pandas categoricals
    (missing ones stay missing; HGB sends them down their own branch)."""
    out = frame[list(table.numeric)].astype(np.float64)
    for c in table.categorical:
        out[c] = pd.Categorical(_categories_as_text(frame[[c]])[c], categories=categories[c])
    return out[[*table.numeric, *table.categorical]]


def fit_classic(name: str, s: TabSplit, enc: Encoded, seed: int = SEED) -> Fitted:
    """One thread (OpenMP, BLAS), as the other comparisons: on a busy machine competing threads only slow down."""
    t = s.table
    model = _classic(name, t.kind, seed)
    if name == "boosting_native":
        cats = {c: sorted(_categories_as_text(s.train[[c]])[c].dropna().unique()) for c in t.categorical}
        x_train, x_test = native_frame(s.train, t, cats), native_frame(s.test, t, cats)
    else:
        x_train, x_test = enc.x_train, enc.x_test
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        model.fit(x_train, s.y_train)
        seconds = time.perf_counter() - start
        pred = np.asarray(model.predict(x_test))
        proba = model.predict_proba(x_test) if t.kind == "classification" else None
    return Fitted(name, pred, proba, seconds)


# -- scores --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Score:
    model: str
    fit_seconds: float
    accuracy: float | None = None  # classification
    balanced_accuracy: float | None = None
    pr_auc: float | None = None  # two classes: average precision of the positive class
    r2: float | None = None  # regression
    mae: float | None = None


def score(table: Tabular, y_true: np.ndarray, f: Fitted) -> Score:
    """sklearn.metrics on the test predictions."""
    if table.kind == "regression":
        return Score(f.model, f.seconds, r2=float(skm.r2_score(y_true, f.pred)),
                     mae=float(skm.mean_absolute_error(y_true, f.pred)))
    pr = None
    if table.positive is not None and f.proba is not None:
        pr = float(skm.average_precision_score(y_true == table.positive, f.proba[:, table.positive]))
    return Score(f.model, f.seconds, accuracy=float(skm.accuracy_score(y_true, f.pred)),
                 balanced_accuracy=float(skm.balanced_accuracy_score(y_true, f.pred)), pr_auc=pr)


@dataclass(frozen=True)
class Comparison:
    scores: tuple[Score, ...]  # both MLPs ("mlp_onehot", "mlp_embedding" when there are categories), then the classic
    shape_before: tuple[int, int]  # the raw training table (rows, columns)
    shape_onehot: tuple[int, int]  # after the one-hot ColumnTransformer
    shape_embedding: tuple[int, int]  # after the ordinal one (numbers + one code per categorical column)
    blocks_onehot: tuple[Block, ...]
    blocks_embedding: tuple[Block, ...]
    n_train: int
    n_test: int
    positives_test: int | None  # two classes: positives among the test rows

    def get(self, model: str) -> Score:
        return next(s for s in self.scores if s.model == model)


def compare(table: Tabular, seed: int = SEED, steps: int = STEPS,
            progress: Callable[[float], None] | None = None) -> Comparison:
    """Both MLPs and every classic model of the table's kind, on one seeded split."""
    s = split(table, seed)
    encodings = ENCODINGS if table.categorical else ("onehot",)
    classic = [m for m in (CLASSIFIERS if table.kind == "classification" else REGRESSORS) if m != "mlp"]
    total = len(encodings) + len(classic)
    out, done = [], 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done / total)

    for encoding in encodings:
        out.append(score(table, s.y_test, fit_mlp(s, encoding, steps, seed)))
        tick()
    onehot = encode(s, "onehot")
    ordinal = encode(s, "embedding")
    for name in classic:
        out.append(score(table, s.y_test, fit_classic(name, s, onehot, seed)))
        tick()
    pos = int((s.y_test == table.positive).sum()) if table.positive is not None else None
    return Comparison(tuple(out), s.train.shape, onehot.x_train.shape, ordinal.x_train.shape,
                      tuple(structure(onehot.transformer)), tuple(structure(ordinal.transformer)),
                      len(s.y_train), len(s.y_test), pos)
