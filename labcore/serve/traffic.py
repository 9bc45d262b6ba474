"""Lesson 23, drift in real traffic: the lab sends a stream of real HTTP requests to its running service (test
images, then shifted ones), reads back what the service logged (GET /monitor: the mean brightness and contrast
of each input, its predicted class and confidence) and tests each window of requests against the training data
with the two-sample Kolmogorov-Smirnov test. The population stability index (PSI) is shown beside it.

The service has no labels, so it cannot know its accuracy: only the lab, which sent labelled test images, can.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

from labcore.i18n import LabError, t
from labcore.serve.drift import STEP, shift
from labcore.viz.theme import class_colors, styled_figure

FEATURES = ("mean", "std", "confidence")  # monitored: brightness and contrast of the input, the model's confidence
REQUESTS = 200  # clean requests, then as many shifted ones
WINDOW = 50  # requests per window
ALPHA = 0.01  # a window is flagged when a KS p-value is below ALPHA / len(FEATURES) (at most ~1% false alarms)
PSI_BINS = 10
PSI_ALERT = 0.25  # the usual rule of thumb: above 0.25 a population has shifted (noisy for small windows)
LEVEL_WEEKS = (1, 8, 2)  # the live shift slider, in the simulated weeks' steps: lowest, highest, default
REFERENCE_SIZE = 5000  # training images summarised for the reference distribution
P_FLOOR = 1e-12  # p-values are drawn down to this (a log axis cannot show 0)
COLORS = {"reference": "#7F8C8D", "clean": "#2F6FB0", "shifted": "#C0392B"}


# -- statistics -------------------------------------------------------------------------------------------
def summaries(x: torch.Tensor) -> dict[str, np.ndarray]:
    """Mean and (population) standard deviation of each input's values: what the service logs per request."""
    x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
    flat = x.reshape(len(x), -1)
    return {"mean": flat.mean(1).numpy().astype(np.float64), "std": flat.std(1, correction=0).numpy().astype(np.float64)}


@torch.no_grad()
def reference(model: nn.Module, x_train: torch.Tensor, x_val: torch.Tensor, batch: int = 1024) -> dict[str, np.ndarray]:
    """The distributions served traffic is compared with: brightness and contrast of (up to REFERENCE_SIZE)
    training images, and the model's confidence on the validation images (training confidence is inflated)."""
    if len(x_train) > REFERENCE_SIZE:
        x_train = x_train[torch.randperm(len(x_train), generator=torch.Generator().manual_seed(0))[:REFERENCE_SIZE]]
    ref = summaries(x_train)
    model = model.cpu().eval()
    x_val = x_val.float().div(255) if x_val.dtype == torch.uint8 else x_val.float()
    conf = [torch.softmax(model(x_val[i : i + batch]), 1).amax(1) for i in range(0, len(x_val), batch)]
    ref["confidence"] = torch.cat(conf).numpy().astype(np.float64)
    return ref


def ks(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """The two-sample Kolmogorov-Smirnov statistic (the largest gap between the two empirical CDFs) and p-value."""
    from scipy.stats import ks_2samp

    r = ks_2samp(np.asarray(expected, np.float64), np.asarray(actual, np.float64))
    return float(r.statistic), float(r.pvalue)


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = PSI_BINS, eps: float = 1e-4) -> float:
    """Population stability index: sum over bins of (a - e) * ln(a / e), where e and a are the shares of the
    expected and actual values in each bin; the bins are the expected values' deciles (quantiles), the outer
    ones open-ended, and empty bins get share `eps` so the logarithm stays finite."""
    expected, actual = np.asarray(expected, np.float64), np.asarray(actual, np.float64)
    inner = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(inner, expected, side="right"), minlength=len(inner) + 1) / len(expected)
    a = np.bincount(np.searchsorted(inner, actual, side="right"), minlength=len(inner) + 1) / len(actual)
    e, a = np.maximum(e, eps), np.maximum(a, eps)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class Window:
    first: int  # request numbers (the service's `seq`) of the window's first and last request
    last: int
    shifted: int  # how many of its requests were shifted (known to the lab, not to the service)
    p: dict[str, float]  # KS p-value per feature
    psi: dict[str, float]
    flagged: bool
    confidence: float  # mean confidence of the window's answers
    classes: list[int]  # how many answers of each class


def scan(rows: dict, ref: dict[str, np.ndarray], num_classes: int, *, shift_from: int | None = None,
         window: int = WINDOW, alpha: float = ALPHA) -> list[Window]:
    """Consecutive windows of `window` requests (a last, shorter one dropped), each tested against `ref`."""
    seq = np.asarray(rows["seq"])
    out = []
    for i in range(0, len(seq) - window + 1, window):
        part = slice(i, i + window)
        tests = {f: ks(ref[f], rows[f][part]) for f in FEATURES}
        p = {f: tests[f][1] for f in FEATURES}
        shifted = 0 if shift_from is None else int((seq[part] >= shift_from).sum())
        out.append(Window(int(seq[i]), int(seq[i + window - 1]), shifted, p,
                          {f: psi(ref[f], rows[f][part]) for f in FEATURES}, min(p.values()) < alpha / len(FEATURES),
                          float(np.mean(rows["confidence"][part])),
                          np.bincount(np.asarray(rows["prediction"][part], int), minlength=num_classes).tolist()))
    return out


@dataclass(frozen=True)
class Alarms:
    clean_windows: int
    false_alarms: int  # flagged windows that held no shifted request
    delay: int | None  # shifted requests served until the first flagged window that held shifted ones ended

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.clean_windows if self.clean_windows else float("nan")


def alarms(windows: list[Window], shift_from: int | None) -> Alarms:
    clean = [w for w in windows if w.shifted == 0]
    hit = next((w for w in windows if w.shifted and w.flagged), None)
    delay = None if hit is None or shift_from is None else hit.last - shift_from + 1
    return Alarms(len(clean), sum(w.flagged for w in clean), delay)


# -- the client -------------------------------------------------------------------------------------------
def body(image: torch.Tensor) -> bytes:
    """One image (C x H x W, values in [0, 1]) as a /predict request."""
    return json.dumps({"pixels": image.clamp(0, 1).round(decimals=4).tolist()}).encode("utf-8")


def _get(url: str, timeout: float = 10.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def scrape(url: str, since: int = 0) -> dict:
    """GET /monitor: the service's log after request `since`, as numpy columns."""
    got = _get(f"{url}/monitor?since={since}")
    return {k: np.asarray(v) if isinstance(v, list) else v for k, v in got.items()}


def post(url: str, data: bytes, timeout: float = 10.0) -> dict:
    request = urllib.request.Request(f"{url}/predict", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return json.loads(r.read())


@dataclass(frozen=True)
class LiveRun:
    kind: str
    level: float
    rows: dict  # the service's log of this stream (GET /monitor), numpy columns
    shift_from: int  # request number of the first shifted request
    answers: list[int]  # the predicted class of each request, as the client received it
    labels: list[int]  # the true labels, known to the lab only
    seconds: float  # wall time of the whole stream

    @property
    def throughput(self) -> float:
        return len(self.answers) / self.seconds if self.seconds > 0 else float("nan")

    def accuracy(self, shifted: bool) -> float:
        n = len(self.answers) // 2
        part = slice(n, None) if shifted else slice(0, n)
        a, y = np.asarray(self.answers[part]), np.asarray(self.labels[part])
        return float((a == y).mean()) if len(y) else float("nan")


def live(url: str, x_test: torch.Tensor, y_test: torch.Tensor, kind: str, level: float, *, requests: int = REQUESTS,
         progress: Callable[[float], None] | None = None) -> LiveRun:
    """Send `requests` test images, then `requests` other test images shifted (drift.shift), one HTTP request
    each, and read back the service's log of them. Raises LabError("serve.traffic.failed") when the service
    does not answer."""
    n = len(x_test)
    clean = torch.arange(requests) % n
    moved = (torch.arange(requests) + requests) % n
    images = torch.cat([shift(x_test[clean], kind, 0), shift(x_test[moved], kind, level)])
    labels = torch.cat([y_test[clean], y_test[moved]]).tolist()
    try:
        first = int(_get(f"{url}/monitor?since={2**62}")["served"]) + 1
        answers = []
        t0 = time.perf_counter()
        for i, image in enumerate(images):
            answers.append(int(post(url, body(image))["prediction_index"]))
            if progress is not None and i % 10 == 0:
                progress(i / len(images))
        seconds = time.perf_counter() - t0
        rows = scrape(url, first - 1)
    except (OSError, ValueError, KeyError) as e:  # URLError and HTTPError are OSErrors
        raise LabError("serve.traffic.failed", reason=str(e)) from None
    keep = rows["seq"] < first + len(images)
    rows = {k: v[keep] if isinstance(v, np.ndarray) else v for k, v in rows.items()}
    return LiveRun(kind, level, rows, first + requests, answers, labels, seconds)


def level_of(kind: str, weeks: int) -> float:
    """The shift of the simulated week `weeks` (the live stream uses the same steps)."""
    return weeks * STEP[kind]


# -- figures ----------------------------------------------------------------------------------------------
def histogram_figure(ref: dict[str, np.ndarray], run: LiveRun, feature: str, *, lang: str = "en") -> go.Figure:
    """The feature's distribution in the reference data, in the clean requests and in the shifted ones."""
    seq, values = run.rows["seq"], run.rows[feature]
    parts = [("reference", ref[feature]), ("clean", values[seq < run.shift_from]), ("shifted", values[seq >= run.shift_from])]
    lo = min(float(np.min(v)) for _, v in parts if len(v))
    hi = max(float(np.max(v)) for _, v in parts if len(v))
    size = (hi - lo) / 40 or 0.01
    data = [go.Histogram(x=v, name=t(f"serve.traffic.{name}", lang), histnorm="probability density", opacity=0.55,
                         marker={"color": COLORS[name]}, xbins={"start": lo, "end": hi + size, "size": size})
            for name, v in parts if len(v)]
    layout = {"barmode": "overlay", "xaxis": {"title": t(f"serve.traffic.feature_{feature}", lang)},
              "yaxis": {"title": t("serve.traffic.density", lang)}, "legend": {"orientation": "h", "y": -0.35}}
    return styled_figure(data, layout, height=330, lang=lang)


def _shifted_band(windows: list[Window], lang: str, label: bool = True) -> list[dict]:
    first = next((i for i, w in enumerate(windows) if w.shifted), None)
    if first is None:
        return []
    band = {"type": "rect", "xref": "x", "yref": "paper", "x0": first + 0.5, "x1": len(windows) + 0.5, "y0": 0, "y1": 1,
            "fillcolor": "rgba(192, 57, 43, 0.08)", "line": {"width": 0}, "layer": "below"}
    return [band | ({"label": {"text": t("serve.traffic.shifted", lang), "textposition": "top center"}} if label else {})]


def windows_figure(windows: list[Window], *, alpha: float = ALPHA, lang: str = "en") -> go.Figure:
    """KS p-value per window and feature on a log axis, the alarm threshold dashed, flagged windows marked."""
    x = list(range(1, len(windows) + 1))
    colors = {"mean": "#2F6FB0", "std": "#E67E22", "confidence": "#8E44AD"}
    # a p-value below the floor is drawn at the floor; the hover still gives the true value
    data = [go.Scatter(x=x, y=[max(w.p[f], P_FLOOR) for w in windows], mode="lines+markers", line={"color": colors[f]},
                       name=t(f"serve.traffic.feature_{f}", lang), customdata=[w.p[f] for w in windows],
                       hovertemplate=t("serve.traffic.window", lang) + " %{x}: p = %{customdata:.2g}<extra></extra>")
            for f in FEATURES]
    limit = alpha / len(FEATURES)
    data.append(go.Scatter(x=[0.5, len(windows) + 0.5], y=[limit] * 2, mode="lines", hoverinfo="skip",
                           name=t("serve.traffic.threshold", lang, limit=f"{limit:.2g}"),
                           line={"color": "#C0392B", "dash": "dash"}))
    flagged = [(i + 1, max(min(w.p.values()), P_FLOOR)) for i, w in enumerate(windows) if w.flagged]
    if flagged:
        data.append(go.Scatter(x=[f[0] for f in flagged], y=[f[1] for f in flagged], mode="markers",
                               name=t("serve.traffic.flagged", lang), hoverinfo="skip",
                               marker={"color": "#C0392B", "size": 13, "symbol": "x"}))
    p = [max(v, P_FLOOR) for w in windows for v in w.p.values()] + [limit, 1.0]
    lo = int(np.floor(np.log10(min(p))))
    ticks = [10.0**e for e in range(lo, 1, max(1, -lo // 6))]
    layout = {"xaxis": {"title": t("serve.traffic.window", lang), "dtick": 1},
              "yaxis": {"title": t("serve.traffic.p_value", lang), "type": "log", "tickvals": ticks,
                        "ticktext": [f"{v:g}" for v in ticks]},
              "legend": {"orientation": "h", "y": -0.35}, "shapes": _shifted_band(windows, lang)}
    return styled_figure(data, layout, height=360, lang=lang)


def output_figure(windows: list[Window], class_names: list[str], ref_confidence: float, *, lang: str = "en") -> go.Figure:
    """The answers over time: the predicted-class mix of each window (stacked bars) and its mean confidence."""
    x = list(range(1, len(windows) + 1))
    total = [max(1, sum(w.classes)) for w in windows]
    palette = class_colors(len(class_names))
    data = [go.Bar(x=x, y=[w.classes[c] / n for w, n in zip(windows, total, strict=True)], name=str(name),
                   marker={"color": palette[c]}, hovertemplate=f"{name}: %{{y:.0%}}<extra></extra>", showlegend=False,
                   text=[str(name)] * len(windows), textposition="inside", insidetextanchor="middle",
                   textangle=0)
            for c, name in enumerate(class_names)]
    data.append(go.Scatter(x=x, y=[w.confidence for w in windows], mode="lines+markers", yaxis="y2",
                           name=t("serve.traffic.mean_confidence", lang), line={"color": "black", "width": 3},
                           hovertemplate=t("serve.traffic.mean_confidence", lang) + ": %{y:.1%}<extra></extra>"))
    data.append(go.Scatter(x=[0.5, len(windows) + 0.5], y=[ref_confidence] * 2, mode="lines", yaxis="y2", hoverinfo="skip",
                           name=t("serve.traffic.reference_confidence", lang), line={"color": "black", "dash": "dot"}))
    layout = {"barmode": "stack", "xaxis": {"title": t("serve.traffic.window", lang), "dtick": 1},
              "yaxis": {"title": t("serve.traffic.class_mix", lang), "tickformat": ".0%", "range": [0, 1]},
              "yaxis2": {"title": t("serve.traffic.mean_confidence", lang), "tickformat": ".0%", "range": [0, 1],
                         "overlaying": "y", "side": "right", "showgrid": False},
              "uniformtext": {"minsize": 9, "mode": "hide"},
              "legend": {"orientation": "h", "y": -0.35}, "shapes": _shifted_band(windows, lang, label=False)}
    return styled_figure(data, layout, height=360, lang=lang)
