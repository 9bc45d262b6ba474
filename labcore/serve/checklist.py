"""Lessons 21 and 23 as checklists for one trained run: what the lab can check is checked from the run itself
(the export bundle, the service's own input checks, the test scores, the drift monitor); what it cannot
check is left as an open question for the class.

Each item is a catalogue key under `serve.checklist.` with its parameters and a state: "done" (checked and
fine), "warn" (checked, and something to look at) or "open" (a question the lab cannot answer for you).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labcore.metrics import accuracy_interval
from labcore.serve import api
from labcore.serve.bundle import FILES, Bundle

DONE, WARN, OPEN = "done", "warn", "open"
FAIR_GAP = 10.0  # percentage points between the worst class and the overall accuracy that call for a look
CONFIDENCE_TOLERANCE = 1e-3

# Where each dataset comes from (catalogue key serve.checklist.source_<name>): with a licence its publisher states,
# or without one (an open question); generated data raises neither question
LICENSED = ("digits", "breast_cancer", "wine", "fashion_mnist")
UNLICENSED = ("mnist", "cifar10")
GENERATED = ("xor", "circles", "moons", "spirals", "blobs", "shapes")

DEPLOY_QUESTIONS = ("where", "load", "security", "fallback")
ETHICS_QUESTIONS = ("harm", "missing", "trust", "alert_owner")


@dataclass(frozen=True)
class Item:
    key: str  # catalogue key under serve.checklist.
    state: str  # DONE, WARN or OPEN
    params: dict[str, Any] = field(default_factory=dict)


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _diff(x: float) -> str:
    return f"{x:.1e}" if x else "0"


# -- lesson 21: deployment ------------------------------------------------------------------------------
def bad_requests(meta: dict) -> dict[str, Any]:
    """Malformed /predict bodies for this model's input: each must be refused with a message (HTTP 400)."""
    data = meta["dataset"]
    shape = list(data["input_shape"])
    if data["kind"] == "image":
        good = np.zeros(shape).tolist()
        wrong = np.zeros([s + 1 for s in shape]).tolist()
        over = np.full(shape, 2.0).tolist()
        return {"not_object": [1, 2], "missing": {"values": good}, "wrong_shape": {"pixels": wrong},
                "out_of_range": {"pixels": over}, "not_number": {"pixels": "a picture"},
                "nan": {"pixels": np.full(shape, math.nan).tolist()}, "bad_png": {"png": "not base64!"}}
    n = shape[0]
    return {"not_object": [1, 2], "missing": {"values": [0.0] * n}, "wrong_shape": {"features": [0.0] * (n + 1)},
            "out_of_range": {"features": [1e9] * n}, "not_number": {"features": ["x"] * n},
            "nan": {"features": [math.nan] * n}, "bool": {"features": [True] * n}}


def input_checks(meta: dict) -> tuple[int, int, bool, list[str]]:
    """Send the service's own input check (api.to_input, what answers 400) the bad requests and the example:
    (refused, sent, example accepted, names of the bad requests let through)."""
    through = []
    bad = bad_requests(meta)
    for name, body in bad.items():
        try:
            api.to_input(body, meta)
        except api.InputError:
            continue
        except Exception:  # the service would answer 500, not a clear 400
            pass
        through.append(name)
    try:
        api.to_input(api.example(meta), meta)
        accepted = True
    except Exception:
        accepted = False
    return len(bad) - len(through), len(bad), accepted, through


def served_example(bundle: Bundle) -> dict[str, Any] | None:
    """The example request answered the way the service answers it (TorchScript file, eval mode, no_grad),
    or None when there is no TorchScript file."""
    raw = bundle.files.get(FILES["torchscript"])
    if raw is None:
        return None
    meta = bundle.meta
    try:
        model = api.load_model(raw)
        answer = api.predict(model, api.to_input(api.example(meta), meta), [str(c) for c in meta["dataset"]["classes"]])
    except Exception:  # an input the service cannot take yet (the input-check item says so): no answer to show
        return None
    return {**answer, "eval": not model.training}


def deployment(bundle: Bundle, outcome: Any = None) -> list[Item]:
    """Lesson 21's checklist for this run's bundle. `outcome` (the run's Outcome) lets the example request's
    answer be compared with what the lab itself predicted for that test row."""
    items: list[Item] = []
    ts = bundle.checks.get("torchscript")
    if ts is not None and ts.ok:
        items.append(Item("exported", DONE, {"diff": _diff(ts.max_abs_diff)}))
    else:
        reason = bundle.errors.get("torchscript") or (ts.error or ts.skipped if ts is not None else "") or "?"
        items.append(Item("export_failed", WARN, {"reason": reason}))
    onnx = bundle.checks.get("onnx")
    if onnx is not None and onnx.ok:
        items.append(Item("onnx", DONE, {"diff": _diff(onnx.max_abs_diff)}))
    elif onnx is not None and onnx.skipped == "onnxruntime":
        items.append(Item("onnx_unchecked", OPEN))
    else:
        items.append(Item("onnx_failed", WARN))
    refused, sent, accepted, through = input_checks(bundle.meta)
    if refused == sent and accepted:
        items.append(Item("inputs", DONE, {"refused": refused, "sent": sent}))
    else:
        items.append(Item("inputs_leak", WARN, {"refused": refused, "sent": sent, "names": ", ".join(through) or "–"}))
    served = served_example(bundle) if ts is not None and ts.ok else None
    if served is not None:
        params = {"label": served["label"], "conf": _pct(served["confidence"])}
        if outcome is not None and len(getattr(outcome, "y_prob", [])):
            lab = np.asarray(outcome.y_prob[0], dtype=float)
            same = int(lab.argmax()) == served["prediction_index"] and \
                abs(float(lab.max()) - served["confidence"]) <= CONFIDENCE_TOLERANCE
            params["lab"] = _pct(float(lab.max()))
            items.append(Item("served_same" if same and served["eval"] else "served_differs", DONE if same else WARN,
                              params))
        else:
            items.append(Item("served", DONE if served["eval"] else WARN, params))
    meta = bundle.meta
    if "seed" in meta and "versions" in meta and "created" in meta:
        items.append(Item("metadata", DONE, {"seed": meta["seed"], "torch": meta["versions"].get("torch", "?"),
                                             "date": str(meta["created"])[:10]}))
    items += [Item(f"q_{q}", OPEN) for q in DEPLOY_QUESTIONS]
    return items


# -- lesson 23: monitoring, trust and ethics ------------------------------------------------------------
def per_class(outcome: Any) -> list[tuple[str, float, int]]:
    """(class, accuracy on that class's test rows, rows) per class that has test rows, worst first."""
    y_true = np.asarray(outcome.y_true)
    y_pred = np.asarray(outcome.y_prob).argmax(1)
    names = outcome.report.class_names
    rows = [(names[k], float((y_pred[y_true == k] == k).mean()), int((y_true == k).sum()))
            for k in range(len(names)) if (y_true == k).any()]
    return sorted(rows, key=lambda r: (r[1], r[0]))


def responsibility(cfg: Any, meta: dict, outcome: Any, drift_report: Any = None) -> list[Item]:
    """Lesson 23's checklist: reproducibility, test score with its uncertainty, fairness across classes,
    the drift monitor, where the data came from, and the questions only people can answer."""
    items: list[Item] = [Item("reproducible", DONE, {"seed": cfg.train.seed, "data_seed": cfg.data.seed})]
    acc, n = float(outcome.test_accuracy), len(outcome.y_true)
    lo, hi = accuracy_interval(acc, n)
    items.append(Item("test_score", DONE if "test_metrics" in meta else WARN,
                      {"acc": _pct(acc), "lo": _pct(lo), "hi": _pct(hi), "n": n}))
    classes = per_class(outcome)
    if classes:
        name, worst, rows = classes[0]
        best_name, best, _ = classes[-1]
        gap = 100 * (acc - worst)
        wlo, whi = accuracy_interval(worst, rows)
        params = {"name": name, "acc": _pct(worst), "n": rows, "lo": _pct(wlo), "hi": _pct(whi),
                  "best": best_name, "best_acc": _pct(best), "gap": f"{gap:.1f}"}
        items.append(Item("fair_gap" if gap > FAIR_GAP else "fair", WARN if gap > FAIR_GAP else DONE, params))
    if drift_report is not None:
        params = {"threshold": _pct(drift_report.threshold), "reference": _pct(drift_report.reference)}
        if drift_report.alert_week is None:
            items.append(Item("drift_quiet", DONE, params))
        else:
            items.append(Item("drift_alert", WARN, {**params, "week": drift_report.alert_week}))
    else:
        items.append(Item("drift_none", OPEN))
    name = cfg.data.name
    if name in LICENSED or name in UNLICENSED:
        items.append(Item(f"source_{name}", DONE if name in LICENSED else OPEN))
    elif name in GENERATED:
        items.append(Item("source_generated", DONE))
    else:
        items.append(Item("source_unknown", OPEN))
    items += [Item(f"q_{q}", OPEN) for q in ETHICS_QUESTIONS]
    return items
