"""Run history: every finished run goes into a real MLflow tracking store (issue 17), for the Runs page and for
`mlflow ui`. Nothing here knows about Streamlit, and MLflow is imported only once tracking is in use.

    engine.on_finished.append(tracking.shared().submit)   # app/state.py does this when `enabled()`

A job that ends calls `submit(job)` on its own thread: it copies the run's config, per-epoch rows and test scores
into a `RunRecord` (microseconds) and puts it on a queue; one writer thread per recorder writes the queue to
the store. So logging never slows a run down, and a store that fails (a read-only disk, a bad URI) costs one
warning in the server log, never a run.

The store: `LAB_TRACKING_URI` (or MLflow's own `MLFLOW_TRACKING_URI`) when set, else a SQLite database and an
artifact folder under the lab's data directory (labcore.data.online.data_dir()). `LAB_TRACKING=0` turns
tracking off; without the `tracking` extra (mlflow) nothing is recorded and nothing changes.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labcore.config import RunConfig
from labcore.share import text_of
from labcore.share import to_query as text_query

log = logging.getLogger(__name__)

EXPERIMENT = "deep-learning-visual-lab"
EXTRA = "tracking"  # pip install -e ".[tracking]"
PAGES = ("train", "race", "transfer", "sequences", "autoencoders", "attention", "beyond")  # recorded (`RECORDS`)
EPOCH_METRICS = ("loss", "acc", "val_loss", "val_acc", "lr", "seconds", "samples_per_s",
                 "recon", "kl", "val_recon", "val_kl",  # an autoencoder's
                 "eval_loss", "iou", "dice", "eval_acc", "hits", "cls_loss", "box_loss")  # Beyond's, on the test set
STATUS = {"finished": "FINISHED", "stopped": "KILLED", "diverged": "FAILED"}  # the job's end, as MLflow's
MAX_BATCH = 1000  # metrics per MLflow log_batch call
SEARCH_MAX = 5000  # runs read for the page (filtered afterwards)


def available() -> bool:
    """Is the tracking extra (mlflow) installed? (Looked up, not imported: the import takes ~1 s.)"""
    return importlib.util.find_spec("mlflow") is not None


def switched_off() -> bool:
    return os.environ.get("LAB_TRACKING", "1").strip().lower() in ("0", "false", "no", "off")


def enabled() -> bool:
    """Tracking is on by default when mlflow is importable; LAB_TRACKING=0 turns it off."""
    return not switched_off() and available()


def store_folder() -> Path:
    from labcore.data.online import data_dir

    return data_dir() / "tracking"


def default_uri() -> str:
    """LAB_TRACKING_URI, else MLFLOW_TRACKING_URI, else sqlite:///<data dir>/tracking/mlflow.db."""
    for name in ("LAB_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        uri = os.environ.get(name, "").strip()
        if uri:
            return uri
    return f"sqlite:///{(store_folder() / 'mlflow.db').resolve()}"


def ui_command(uri: str | None = None) -> str:
    """What a teacher types to browse the same store in MLflow's own UI."""
    return f"mlflow ui --backend-store-uri {uri or default_uri()}"


# -- what is recorded ------------------------------------------------------------------------------------------
@dataclass
class RunRecord:
    """One ended run, copied out of its job: plain values only, so the job can be forgotten at once."""

    page: str
    params: dict[str, str]
    tags: dict[str, str]
    epochs: list[dict[str, float]]
    final: dict[str, float]
    status: str  # the job's: finished, stopped, diverged
    start_ms: int
    end_ms: int
    name: str = ""


def flatten(cfg: Any, prefix: str = "") -> dict[str, str]:
    """A config dataclass as {"group.field": text}: the same names and texts as its links (labcore.share)."""
    out: dict[str, str] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = text_of(value)
    return out


def config_of(params: dict[str, str]) -> RunConfig:
    """A Train run's RunConfig back from its recorded params (unknown or bad values keep the defaults)."""
    from labcore.share import from_query

    return from_query(RunConfig, params)


def _times(job: Any) -> tuple[int, int]:
    end = time.time()
    return int((end - job.seconds) * 1000), int(end * 1000)


def train_record(job: Any) -> list[RunRecord]:
    """A Train-page run (labcore.train.job.TrainingJob): flattened config, per-epoch rows, test scores."""
    cfg: RunConfig = job.config
    trainer = getattr(job, "trainer", None)
    epochs = [dict(r) for r in trainer.log.epochs] if trainer is not None else []
    if not epochs:  # stopped before the first epoch ended: nothing to compare
        return []
    final = {"epochs_run": float(len(epochs))}
    outcome = getattr(job, "outcome", None)
    if outcome is not None:
        final["test_loss"] = float(outcome.test_loss)
        if hasattr(outcome, "test_accuracy"):
            final["test_accuracy"] = float(outcome.test_accuracy)
        final["best_epoch"] = float(outcome.best_epoch)
    start, end = _times(job)
    tags = {"page": "train", "dataset": cfg.data.name, "model": cfg.model.name, "optimizer": cfg.optim.name,
            "status": job.status, "kind": job.kind}
    return [RunRecord("train", flatten(cfg), tags, epochs, final, job.status, start, end,
                      name=f"{cfg.model.name} · {cfg.data.name} · {cfg.optim.name} {cfg.optim.lr:g}")]


def race_records(job: Any) -> list[RunRecord]:
    """An optimizer race (labcore.train.race.RaceJob): one run per contender, its setup as a Train run of its
    own (RaceConfig.solo), tagged with the race's id so the contenders of one race can be found together."""
    cfg = job.config
    start, end = _times(job)
    out = []
    for s in job.standings():
        if not s.epochs:
            continue
        c, solo = cfg.contenders[s.index], cfg.solo(s.index)
        if c.augment is not None:
            solo = dataclasses.replace(solo, augment=c.augment)
        params = flatten(solo) | {"race.contender": str(s.index + 1), "race.contenders": str(len(cfg.contenders)),
                                  "race.random_labels": text_of(c.random_labels)}
        status = s.status if s.status in STATUS else job.status
        tags = {"page": "race", "dataset": solo.data.name, "model": solo.model.name, "optimizer": solo.optim.name,
                "status": status, "kind": job.kind, "race": job.id}
        final = {"epochs_run": float(len(s.epochs)), "best_val_acc": max(r.get("val_acc", 0.0) for r in s.epochs)}
        out.append(RunRecord("race", params, tags, [dict(r) for r in s.epochs], final, status, start, end,
                             name=f"{solo.model.name} · {solo.data.name} · {solo.optim.name} {solo.optim.lr:g}"))
    return out


def _finite(values: dict[str, Any]) -> dict[str, float]:
    """Final scores as MLflow metrics: numbers only, a NaN (not measured) left out."""
    out = {}
    for k, v in values.items():
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            out[k] = v
    return out


def transfer_records(job: Any) -> list[RunRecord]:
    """A transfer race (labcore.transfer.job.TransferJob): one run per strategy, with the race's whole setup as
    params (the Transfer page's link) and the strategy's own curve and scores, tagged with the race's id."""
    cfg, race = job.config, getattr(job, "race", None)
    if race is None:
        return []
    start, end = _times(job)
    results = {r.strategy: r for r in job.results}
    best = job.best.strategy if job.best is not None else None
    out = []
    for strategy, lane in race.lanes.items():
        epochs = [dict(r) for r in lane.log.epochs]
        if not epochs:
            continue
        r = results.get(strategy)
        final = {"epochs_run": len(epochs)}
        if r is not None:
            final |= {"test_accuracy": r.test_accuracy, "best_val_acc": r.val_accuracy, "best_epoch": r.best_epoch,
                      "trainable_params": r.trainable, "train_seconds": r.seconds}
        status = lane.status if lane.status in STATUS else job.status
        tags = {"page": "transfer", "dataset": cfg.target, "model": cfg.backbone, "optimizer": "adam", "status": status,
                "kind": job.kind, "transfer": job.id, "strategy": strategy, "best": text_of(strategy == best)}
        params = flatten(cfg) | {"transfer.strategy": strategy}
        out.append(RunRecord("transfer", params, tags, epochs, _finite(final), status, start, end,
                             name=f"{cfg.backbone} · {cfg.target} · {strategy}"))
    return out


def _ran(job: Any) -> Iterator[tuple[int, Any, list[dict], Any]]:
    """(index, contender, its epoch rows, its Train-style config) of each contender of a comparison that ran an epoch."""
    for i, c in enumerate(job.contenders):
        epochs = [dict(r) for r in c.trainer.log.epochs] if c.trainer is not None else []
        if epochs:
            yield i, c, epochs, job.config.run(i)


def sequences_records(job: Any) -> list[RunRecord]:
    """A Sequences comparison (labcore.train.compare.SequencesJob): one run per model, its setup as a Train-style
    config plus the tab and the models compared together (the Sequences page's link), tagged with the job's id."""
    cfg, data = job.config, job.data
    if data is None:
        return []
    forecast = data.info.task == "regression"
    models = ",".join(m.name for m in cfg.models)
    start, end = _times(job)
    out = []
    for i, c, epochs, run in _ran(job):
        final: dict[str, Any] = {"epochs_run": len(epochs), "test_loss": c.test_loss}
        if forecast and c.test_pred is not None:  # on the series' own scale, as the page's table shows it
            from labcore.data.sequences import forecast_scores, unscale

            final |= {f"test_{k}": v for k, v in forecast_scores(unscale(data, data.y_test.numpy()),
                                                                  unscale(data, c.test_pred)).items()}
        elif not forecast:
            final["test_accuracy"] = c.test_acc
        status = c.status if c.status in STATUS else job.status
        tags = {"page": "sequences", "dataset": data.name, "model": run.model.name, "optimizer": run.optim.name,
                "status": status, "kind": job.kind, "comparison": job.id}
        params = flatten(run) | {"sequences.tab": "forecast" if forecast else "memory", "sequences.models": models,
                                 "sequences.contender": str(i + 1)}
        bidirectional = " ↔" if run.model.bidirectional else ""
        out.append(RunRecord("sequences", params, tags, epochs, _finite(final), status, start, end,
                             name=f"{run.model.name}{bidirectional} · {data.name} · {run.optim.name} {run.optim.lr:g}"))
    return out


def autoencoder_record(job: Any) -> list[RunRecord]:
    """An autoencoder run (labcore.autoencoders.AutoencoderJob): its AEConfig, per-epoch losses (reconstruction
    and KL too) and the test reconstruction error, PCA's beside it, and the anomaly AUC when classes were held out."""
    cfg, trainer = job.config, getattr(job, "trainer", None)
    epochs = [dict(r) for r in trainer.log.epochs] if trainer is not None else []
    if not epochs:
        return []
    final: dict[str, Any] = {"epochs_run": len(epochs)}
    outcome = getattr(job, "outcome", None)
    if outcome is not None:
        final |= {"test_recon": outcome.test_recon, "pca_test_recon": outcome.pca_test_recon}
        if outcome.scores.has_both:
            final |= {"anomaly_auc": outcome.scores.roc()[3], "pca_anomaly_auc": outcome.pca_auc}
    start, end = _times(job)
    tags = {"page": "autoencoders", "dataset": cfg.data.name, "model": cfg.model, "optimizer": "adam",
            "status": job.status, "kind": job.kind}
    return [RunRecord("autoencoders", flatten(cfg), tags, epochs, _finite(final), job.status, start, end,
                      name=f"{cfg.model} · {cfg.data.name} · k={cfg.latent_dim} · adam {cfg.lr:g}")]


def attention_records(job: Any) -> list[RunRecord]:
    """An Attention-page run (labcore.train.compare.AttentionJob): the toy-sentence Transformer or the tiny ViT, its
    setup as a Train-style config plus the tab it came from (the Attention page's link), curves and test scores."""
    data = job.data
    if data is None:
        return []
    start, end = _times(job)
    out = []
    for _, c, epochs, run in _ran(job):
        status = c.status if c.status in STATUS else job.status
        tags = {"page": "attention", "dataset": data.name, "model": run.model.name, "optimizer": run.optim.name,
                "status": status, "kind": job.kind, "comparison": job.id}
        panel = "vit" if run.model.name == "vit" else "text"
        final = {"epochs_run": len(epochs), "test_loss": c.test_loss, "test_accuracy": c.test_acc}
        out.append(RunRecord("attention", flatten(run) | {"attention.panel": panel}, tags, epochs, _finite(final),
                             status, start, end,
                             name=f"{run.model.name} · {data.name} · {run.optim.name} {run.optim.lr:g}"))
    return out


def beyond_record(job: Any) -> list[RunRecord]:
    """A Beyond-classification run (labcore.beyond.train.BeyondJob): its BeyondConfig, per epoch the training loss
    and the test set's loss and scores (mask IoU and Dice, or box IoU, class accuracy and hits), then the last."""
    cfg, scores = job.config, job.scores()
    if len(scores) < 2:  # stopped before the first epoch ended (the first row is the untrained net's)
        return []
    segment = cfg.task == "segment"
    epochs = []
    for s in scores:
        row = {"epoch": s.epoch, "loss": s.train_loss, "eval_loss": s.test_loss, "iou": s.iou}
        row |= {"dice": s.dice} if segment else {"eval_acc": s.accuracy, "hits": s.hits, "cls_loss": s.cls_loss,
                                                 "box_loss": s.box_loss}
        epochs.append(_finite(row))  # the untrained net has no training loss
    last = scores[-1]
    final: dict[str, Any] = {"epochs_run": last.epoch, "test_loss": last.test_loss}
    final |= ({"test_iou": last.iou, "test_dice": last.dice} if segment else
              {"test_box_iou": last.iou, "test_accuracy": last.accuracy, "test_hits": last.hits})
    outcome = getattr(job, "result", None)
    if outcome is not None:
        final["train_seconds"] = outcome.seconds
    start, end = _times(job)
    model = "unet" if segment else "detector"
    tags = {"page": "beyond", "dataset": "shapes", "model": model, "optimizer": "adam", "status": job.status,
            "kind": job.kind, "task": cfg.task}
    skips = "" if not segment else (" · skips" if cfg.skips else " · no skips")
    return [RunRecord("beyond", flatten(cfg), tags, epochs, _finite(final), job.status, start, end,
                      name=f"{model}{skips} · shapes {cfg.n_train} · adam {cfg.lr:g}")]


def link_of(run: RunSummary) -> tuple[str, dict[str, str]] | None:
    """The page a recorded run opens on and the link query that sets its setup up there (None: no such page).
    Each page's link schema (labcore.links) takes the values it can use; a hand-edited store cannot break it."""
    from labcore import links

    p = run.params
    if run.page == "train":
        return "train", text_query(config_of(p))
    if run.page in ("transfer", "autoencoders"):
        raw = {k: v for k, v in p.items() if not (k == "image_size" and v == "0")}  # 0: the backbone's own size
    elif run.page == "sequences":
        memory = p.get("sequences.tab") == "memory"
        named = {"models": "sequences.models", "epochs": "train.epochs"}
        named |= ({"length": "data.seq_len", "distractors": "data.noise"} if memory else
                  {"series": "data.name", "window": "data.seq_len", "horizon": "data.horizon",
                   "bidirectional": "model.bidirectional"})
        tab = "memory" if memory else "forecast"
        raw = {f"{tab}.{name}": p[key] for name, key in named.items() if key in p}
    elif run.page == "attention":
        vit = p.get("attention.panel") == "vit"
        named = ({"data": "data.name", "epochs": "train.epochs", "width": "model.width"} if vit else
                 {"data": "data.name", "epochs": "train.epochs", "layers": "model.depth", "heads": "model.heads"})
        tab = "vit" if vit else "text"
        raw = {"panel": tab} | {f"{tab}.{name}": p[key] for name, key in named.items() if key in p}
    elif run.page == "beyond":
        tab = "seg" if p.get("task") == "segment" else "det"
        named = {"epochs": "epochs", "train": "n_train", "seed": "seed"} | ({"skips": "skips"} if tab == "seg" else {})
        raw = {"panel": p.get("task", "segment")} | {f"{tab}.{name}": p[key] for name, key in named.items() if key in p}
    else:
        return None
    values, _ = links.read(run.page, raw)
    return run.page, links.write(run.page, values)


def _exactly(module: str, name: str) -> Callable[[Any], bool]:
    def check(job: Any) -> bool:  # subclasses (transfer, autoencoders...) are other pages' runs
        cls = type(job)
        return cls.__module__ == module and cls.__name__ == name

    return check


# (is this the kind of job, how to record it): the first that matches. Another page adds a line here.
RECORDS: list[tuple[Callable[[Any], bool], Callable[[Any], list[RunRecord]]]] = [
    (_exactly("labcore.train.job", "TrainingJob"), train_record),
    (_exactly("labcore.train.race", "RaceJob"), race_records),
    (_exactly("labcore.transfer.job", "TransferJob"), transfer_records),
    (_exactly("labcore.train.compare", "SequencesJob"), sequences_records),
    (_exactly("labcore.autoencoders.train", "AutoencoderJob"), autoencoder_record),
    (_exactly("labcore.train.compare", "AttentionJob"), attention_records),
    (_exactly("labcore.beyond.train", "BeyondJob"), beyond_record),
]


def record_of(job: Any) -> list[RunRecord]:
    """The records of an ended job: none when it is not one the history keeps (a failure, another kind)."""
    if getattr(job, "status", None) not in STATUS:
        return []
    for matches, build in RECORDS:
        if matches(job):
            return build(job)
    return []


# -- the store -------------------------------------------------------------------------------------------------
@dataclass
class RunSummary:
    """One row of the Runs page's table."""

    run_id: str
    start_ms: int
    page: str
    dataset: str
    model: str
    optimizer: str
    lr: float | None
    epochs: int | None  # epochs actually run
    test_accuracy: float | None
    status: str
    name: str
    params: dict[str, str] = field(default_factory=dict)


class StoreError(Exception):
    """The tracking store could not be read or written (the page shows a sentence from the catalogue)."""


class Recorder:
    """Writes run records to one MLflow store from one background thread; reads them for the Runs page.

    `submit(job)` / `add(record)` only enqueue (any thread). The first failure to write logs one warning and
    the records go on being dropped quietly until `reset_failure()`; `flush()` waits for the queue (tests)."""

    def __init__(self, uri: str | None = None, artifacts: str | Path | None = None, experiment: str = EXPERIMENT):
        self.uri = uri or default_uri()
        if artifacts is None and self.uri.startswith("sqlite:"):  # a server (http://) keeps its own artifacts
            artifacts = store_folder() / "artifacts"
        self.artifacts = Path(artifacts).resolve().as_uri() if artifacts is not None else None
        self.experiment = experiment
        self.failure: str | None = None  # the first error writing, as text
        self.written = 0
        self._queue: queue.Queue[RunRecord | None] = queue.Queue()
        self._lock = threading.Lock()
        self._client: Any = None
        self._experiment_id: str | None = None
        self._writer: threading.Thread | None = None
        self._write_seconds: list[float] = []

    # -- writing (any thread enqueues; one thread writes) --------------------------------------------------
    def submit(self, job: Any) -> bool:
        """The engine's on_finished hook: enqueue the job's records; True if it has any. Never raises."""
        try:
            records = record_of(job)
        except Exception as e:  # a job we cannot read must not break the engine's bookkeeping
            log.warning("run history: could not read %s: %s", type(job).__name__, e)
            return False
        for record in records:
            self.add(record)
        return bool(records)

    def add(self, record: RunRecord) -> None:
        self._queue.put(record)
        with self._lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write_loop, name="tracking-writer", daemon=True)
                self._writer.start()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every record enqueued so far is written (or dropped); True if the queue emptied in time."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _write_loop(self) -> None:
        while True:
            try:
                record = self._queue.get(timeout=5.0)
            except queue.Empty:
                with self._lock:  # idle: the thread ends; the next record starts another
                    if self._queue.empty():
                        self._writer = None
                        return
                continue
            try:
                if record is not None and self.failure is None:
                    t0 = time.perf_counter()
                    self._write(record)
                    self._write_seconds.append(time.perf_counter() - t0)
                    self.written += 1
            except Exception as e:  # one warning; the runs go on, unrecorded
                self.failure = f"{type(e).__name__}: {e}"
                log.warning("run history: the tracking store %s failed, runs are not recorded: %s", self.uri,
                            self.failure)
            finally:
                self._queue.task_done()

    def reset_failure(self) -> None:
        self.failure = None
        with self._lock:
            self._client = self._experiment_id = None

    def _write(self, r: RunRecord) -> None:
        from mlflow.entities import Metric, Param, RunTag

        client, experiment_id = self._open(create=True)
        run = client.create_run(experiment_id, start_time=r.start_ms, tags=r.tags, run_name=r.name or None)
        run_id = run.info.run_id
        metrics = []
        for i, row in enumerate(r.epochs):
            step, stamp = int(row.get("epoch", i + 1)), r.start_ms + int(1000 * sum(
                e.get("seconds", 0.0) for e in r.epochs[: i + 1]))
            metrics += [Metric(k, float(row[k]), stamp, step) for k in EPOCH_METRICS if k in row]
        metrics += [Metric(k, v, r.end_ms, 0) for k, v in r.final.items()]
        params = [Param(k, v) for k, v in r.params.items()]
        client.log_batch(run_id, tags=[RunTag("lab.status", r.status)])
        for i in range(0, len(params), 100):  # MLflow takes 100 params and 1000 metrics per call
            client.log_batch(run_id, params=params[i : i + 100])
        for i in range(0, len(metrics), MAX_BATCH):
            client.log_batch(run_id, metrics=metrics[i : i + MAX_BATCH])
        client.set_terminated(run_id, STATUS.get(r.status, "FINISHED"), end_time=r.end_ms)

    def seconds_per_write(self) -> float | None:
        """Median seconds the writer thread spent per run (after the store was opened)."""
        seen = sorted(self._write_seconds[1:] or self._write_seconds)
        return seen[len(seen) // 2] if seen else None

    # -- the store ------------------------------------------------------------------------------------------
    def _open(self, create: bool) -> tuple[Any, str | None]:
        with self._lock:
            if self._client is None:
                os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # a classroom server phones nobody
                from mlflow.tracking import MlflowClient

                if self.uri.startswith("sqlite:///"):
                    Path(self.uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                self._client = MlflowClient(tracking_uri=self.uri)
            if self._experiment_id is None:
                found = self._client.get_experiment_by_name(self.experiment)
                if found is not None:
                    self._experiment_id = found.experiment_id
                elif create:
                    self._experiment_id = self._client.create_experiment(self.experiment,
                                                                         artifact_location=self.artifacts)
            return self._client, self._experiment_id

    def _read(self, fn: Callable[[Any, str], Any], default: Any) -> Any:
        if self.uri.startswith("sqlite:///") and not Path(self.uri.removeprefix("sqlite:///")).exists():
            return default  # nothing recorded yet: no need to import MLflow, nor to create the database
        try:
            client, experiment_id = self._open(create=False)
            return default if experiment_id is None else fn(client, experiment_id)
        except Exception as e:
            log.warning("run history: reading %s failed: %s", self.uri, e)
            raise StoreError(f"{type(e).__name__}: {e}") from e

    # -- reading (the Runs page) -------------------------------------------------------------------------------
    def runs(self) -> list[RunSummary]:
        """Every recorded run, newest first. Raises StoreError when the store cannot be read."""
        def search(client: Any, experiment_id: str) -> list[RunSummary]:
            found = client.search_runs([experiment_id], max_results=SEARCH_MAX, order_by=["attributes.start_time DESC"])
            return [_summary(run) for run in found]

        return self._read(search, [])

    def history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        """(epoch, value) of one per-epoch metric of a run."""
        def read(client: Any, _: str) -> list[tuple[int, float]]:
            return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))

        return self._read(read, [])

    def delete(self, run_ids: Iterable[str]) -> int:
        """Delete runs (MLflow's deletion: gone from the page and from `mlflow ui`); returns how many."""
        def drop(client: Any, _: str) -> int:
            n = 0
            for run_id in run_ids:
                client.delete_run(run_id)
                n += 1
            return n

        return self._read(drop, 0)


def _number(text: Any, kind: type = float) -> Any:
    try:
        return kind(float(text))
    except (TypeError, ValueError):
        return None


def _summary(run: Any) -> RunSummary:
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    return RunSummary(
        run_id=run.info.run_id, start_ms=int(run.info.start_time or 0), page=tags.get("page", ""),
        dataset=tags.get("dataset", ""), model=tags.get("model", ""), optimizer=tags.get("optimizer", ""),
        lr=_number(params.get("optim.lr", params.get("lr"))), epochs=_number(metrics.get("epochs_run"), int),
        test_accuracy=metrics.get("test_accuracy"), status=tags.get("lab.status", tags.get("status", "")),
        name=tags.get("mlflow.runName", ""), params=dict(params))


def differing(configs: Sequence[dict[str, str]]) -> list[str]:
    """The param names whose values are not the same in every config (a missing one counts as different)."""
    names = sorted({k for c in configs for k in c})
    return [k for k in names if len({c.get(k) for c in configs}) > 1]


def matches(run: RunSummary, pages: Sequence[str] = (), datasets: Sequence[str] = (), models: Sequence[str] = (),
            optimizers: Sequence[str] = ()) -> bool:
    """Does a run pass the page's filters? An empty filter lets everything through."""
    return all(not want or have in want for have, want in ((run.page, pages), (run.dataset, datasets),
                                                            (run.model, models), (run.optimizer, optimizers)))


# -- one recorder per process and store --------------------------------------------------------------------------
_shared: dict[str, Recorder] = {}
_shared_lock = threading.Lock()


def shared(uri: str | None = None) -> Recorder:
    """The process's recorder for `uri` (default: `default_uri()`): one writer thread per store."""
    uri = uri or default_uri()
    with _shared_lock:
        if uri not in _shared:
            _shared[uri] = Recorder(uri)
        return _shared[uri]


def install(engine: Any) -> Recorder | None:
    """Record every run `engine` ends, when tracking is enabled; returns the recorder (None when off)."""
    if not enabled():
        return None
    recorder = shared()
    if recorder.submit not in engine.on_finished:
        engine.on_finished.append(recorder.submit)
    return recorder
