"""Lesson 22's rules of thumb as a decision helper: the kind of data, how many examples, whether they are labelled
and the task give a suggested family of architectures, why, and the lab demonstration (a preset) that shows it.

"Let data structure, not algorithm popularity, guide you": image → a conv net, free text → Transformers, rows and
columns → ensembles or MLPs, data evolving over time → sequence models. Pure rules, no Streamlit."""

from __future__ import annotations

from dataclasses import dataclass

DATA = ("images", "table", "series", "tokens")
ROWS = ("few", "some", "many")  # under 1,000 · 1,000 to 100,000 · more
LABELS = ("labels", "few_labels", "none")  # every example labelled · a few labelled · none
TASKS = ("classify", "regress", "locate", "segment", "generate", "anomalies")
DEFAULTS = {"data": "images", "rows": "some", "labels": "labels", "task": "classify"}


@dataclass(frozen=True)
class Suggestion:
    """`rule`: the catalogue's `beyond.rule.<rule>` (the family) and `beyond.why.<rule>` (the reason); `preset`:
    the lab demonstration (labcore.presets) that shows it; `notes`: `beyond.note.<note>` caveats that apply."""

    rule: str
    preset: str
    notes: tuple[str, ...] = ()


def _rule(data: str, labels: str, task: str, small: bool) -> tuple[str, str]:
    if task == "anomalies":
        return "autoencoder_anomaly", "ae-anomaly"
    if task == "generate":
        return {"images": ("vae", "ae-vae"), "table": ("vae", "ae-vae"), "series": ("forecast", "sequences-forecast"),
                "tokens": ("language_model", "attention-heads")}[data]
    if labels == "none":  # nothing to fit a classifier, box or mask to: learn a representation first
        return "representation", "ae-latent"
    if task == "segment" and data == "images":
        return "unet", "beyond-segment"
    if task == "locate" and data == "images":
        return "detector", "beyond-detect"
    if task in ("locate", "segment"):  # where in a sequence: one output per time step or token
        return ("per_step", "sequences-memory") if data == "series" else ("per_token", "attention-heads")
    if data == "images":
        return ("transfer", "transfer-strategies") if small or labels == "few_labels" else ("cnn", "shapes-cnn")
    if data == "table":
        return ("trees_regress", "regression-metrics") if task == "regress" else ("trees", "deep-vs-classic")
    if data == "series":
        return ("forecast", "sequences-forecast") if task == "regress" else ("recurrent", "sequences-memory")
    return "transformer", "attention-heads"


def suggest(data: str, rows: str, labels: str, task: str) -> Suggestion:
    """The suggestion for one set of answers (each one of DATA, ROWS, LABELS, TASKS)."""
    for value, allowed in ((data, DATA), (rows, ROWS), (labels, LABELS), (task, TASKS)):
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {allowed}")
    small = rows == "few"
    rule, preset = _rule(data, labels, task, small)
    notes = []
    if small and rule not in ("transfer", "trees", "trees_regress"):
        notes.append("few_rows")
    if labels == "few_labels" and rule not in ("transfer", "representation"):
        notes.append("few_labels")
    if data == "table" and rows == "many" and rule in ("trees", "trees_regress"):
        notes.append("table_many")
    return Suggestion(rule, preset, tuple(notes))


RULES = ("autoencoder_anomaly", "vae", "forecast", "language_model", "representation", "unet", "detector",
         "per_step", "per_token", "transfer", "cnn", "trees_regress", "trees", "recurrent", "transformer")
NOTES = ("few_rows", "few_labels", "table_many")
