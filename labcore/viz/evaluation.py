"""Figures of the Evaluation page (lessons 5 and 22): ROC and precision-recall curves with the threshold's point,
the two classes' score histograms, reliability diagrams, the deep-vs-classic bars and the accuracy paradox.
Data from labcore.evaluation in, a Figure out, text from the catalogue's `evaluation.viz` table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from labcore.evaluation.baselines import Score
from labcore.evaluation.calibration import Calibration
from labcore.evaluation.thresholds import AtThreshold, Curves, Paradox
from labcore.i18n import t
from labcore.viz.theme import BAD_COLOR, NEUTRAL_COLOR, PALETTE, PALETTE_LIGHT, log_axis, styled_figure

HEIGHT = 400
NEGATIVE, POSITIVE = PALETTE[0], PALETTE[1]


def _v(key: str, lang: str, **fmt) -> str:
    return t(f"evaluation.viz.{key}", lang, **fmt)


def _panel_title(text: str, xref: str) -> dict:
    return {"text": f"<b>{text}</b>", "xref": xref, "yref": "paper", "x": 0, "y": 1.0, "xanchor": "left",
            "yanchor": "bottom", "showarrow": False, "font": {"size": 13}}


def _point(x: float, y: float, name: str, axes: tuple[str, str], hover: str) -> go.Scatter:
    return go.Scatter(x=[x], y=[y], mode="markers", name=name, xaxis=axes[0], yaxis=axes[1], showlegend=axes[0] == "x",
                      marker={"color": BAD_COLOR, "size": 13, "symbol": "circle", "line": {"color": "white", "width": 2}},
                      hovertemplate=hover + "<extra></extra>", legendgroup="point")


def curves_figure(c: Curves, at: AtThreshold, *, lang: str = "en") -> go.Figure:
    """Left the ROC curve (recall against false-positive rate), right the precision-recall curve; the red point
    is the threshold's place on both (on the PR curve only when something is predicted positive)."""
    fpr, tpr = _v("fpr", lang), _v("recall", lang)
    prec = _v("precision", lang)
    thr = _v("threshold", lang)
    data = [
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=_v("chance", lang), hoverinfo="skip",
                   line={"color": NEUTRAL_COLOR, "dash": "dash", "width": 1}, legendgroup="chance"),
        go.Scatter(x=c.fpr, y=c.tpr, mode="lines", name=_v("roc", lang, auc=f"{c.roc_auc:.3f}"),
                   line={"color": PALETTE[0], "width": 2}, customdata=np.minimum(c.roc_thresholds, 1.0),
                   hovertemplate=f"{fpr} %{{x:.2f}}<br>{tpr} %{{y:.2f}}<br>{thr} ≥ %{{customdata:.3f}}<extra></extra>"),
        go.Scatter(x=[0, 1], y=[c.prevalence] * 2, mode="lines", xaxis="x2", yaxis="y2", showlegend=False,
                   line={"color": NEUTRAL_COLOR, "dash": "dash", "width": 1}, hoverinfo="skip", legendgroup="chance"),
        go.Scatter(x=c.recall, y=c.precision, mode="lines", xaxis="x2", yaxis="y2", line={"color": PALETTE[4], "width": 2},
                   name=_v("pr", lang, ap=f"{c.average_precision:.3f}"), line_shape="hv",
                   hovertemplate=f"{tpr} %{{x:.2f}}<br>{prec} %{{y:.2f}}<extra></extra>"),
        _point(at.fpr, at.recall, _v("at_threshold", lang, t=f"{at.threshold:.2f}"), ("x", "y"),
               f"{fpr} {at.fpr:.3f}<br>{tpr} {at.recall:.3f}"),
    ]
    if at.precision_defined:
        data.append(_point(at.recall, at.precision, "", ("x2", "y2"), f"{tpr} {at.recall:.3f}<br>{prec} {at.precision:.3f}"))
    unit = {"range": [-0.02, 1.02], "zeroline": False, "tickformat": ".1f"}
    layout = {
        "xaxis": {**unit, "domain": [0, 0.45], "title": {"text": fpr}},
        "yaxis": {**unit, "title": {"text": tpr}},
        "xaxis2": {**unit, "domain": [0.55, 1], "anchor": "y2", "title": {"text": tpr}},
        "yaxis2": {**unit, "anchor": "x2", "title": {"text": prec}},
        "annotations": [_panel_title(_v("roc_title", lang), "x domain"), _panel_title(_v("pr_title", lang), "x2 domain")],
        "legend": {"y": -0.22, "yanchor": "top"},
        "margin": {"t": 28, "b": 8},
    }
    return styled_figure(data, layout, height=HEIGHT + 40, lang=lang)


def histogram_figure(y_true: np.ndarray, scores: np.ndarray, threshold: float, names: tuple[str, str], *,
                     lang: str = "en") -> go.Figure:
    """The positive-class score of each test sample, one histogram per true class, and the threshold: what lies
    right of the line is called positive."""
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    data = [go.Histogram(x=scores[y_true == k], name=_v("true_is", lang, name=names[k]), opacity=0.65,
                         marker={"color": color}, xbins={"start": 0.0, "end": 1.0, "size": 0.05},
                         hovertemplate=f"{_v('score', lang)} %{{x}}<br>{_v('count', lang)} %{{y}}<extra></extra>")
            for k, color in ((0, NEGATIVE), (1, POSITIVE))]
    layout = {
        "barmode": "overlay",
        "xaxis": {"range": [0, 1], "title": {"text": _v("score_of", lang, name=names[1])}},
        "yaxis": {"title": {"text": _v("count", lang)}},
        "shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": threshold, "x1": threshold, "y0": 0, "y1": 1,
                    "line": {"color": BAD_COLOR, "width": 2}}],
        "annotations": [{"text": _v("threshold_at", lang, t=f"{threshold:.2f}"), "xref": "x", "yref": "paper",
                         "x": threshold, "y": 1.0, "yanchor": "bottom", "showarrow": False,
                         "font": {"color": BAD_COLOR}}],
        "margin": {"t": 48},
    }
    return styled_figure(data, layout, height=320, lang=lang)


def reliability_figure(cal: Calibration, *, lang: str = "en") -> go.Figure:
    """Accuracy against confidence per bin, before and after temperature scaling, over the diagonal of a
    perfectly calibrated model. Points under the diagonal: more confident than right. A marker's area grows with
    its bin's sample count."""
    conf, acc, n = _v("confidence", lang), _v("accuracy", lang), _v("count", lang)
    data = [go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=_v("perfect", lang), hoverinfo="skip",
                       line={"color": NEUTRAL_COLOR, "dash": "dash", "width": 1})]
    for rel, name, color in ((cal.before, _v("before", lang, ece=f"{cal.before.ece:.3f}"), PALETTE[2]),
                             (cal.after, _v("after", lang, t=f"{cal.temperature:.2f}", ece=f"{cal.after.ece:.3f}"),
                              PALETTE[0])):
        size = 5 + 15 * np.sqrt(rel.counts / max(int(rel.counts.max(initial=1)), 1))  # a bin of 2 samples looks it
        data.append(go.Scatter(x=rel.confidence, y=rel.accuracy, customdata=rel.counts, mode="lines+markers", name=name,
                               line={"color": color, "width": 2}, marker={"size": size},
                               hovertemplate=f"{conf} %{{x:.3f}}<br>{acc} %{{y:.3f}}<br>{n} %{{customdata}}<extra></extra>"))
    unit = {"range": [-0.02, 1.02], "zeroline": False, "tickformat": ".1f"}
    layout = {"xaxis": {**unit, "title": {"text": conf}, "constrain": "domain"},
              "yaxis": {**unit, "title": {"text": acc}, "scaleanchor": "x", "constrain": "domain"}}
    return styled_figure(data, layout, height=HEIGHT + 40, lang=lang)


def compare_figure(scores: Sequence[Score], names: Sequence[str], *, lang: str = "en") -> go.Figure:
    """Left: accuracy and balanced accuracy per model on the test split; right: fit time (log axis, the MLP in
    orange)."""
    seconds = [max(s.fit_seconds, 1e-4) for s in scores]
    colors = [PALETTE[1] if s.model == "mlp" else PALETTE[0] for s in scores]
    acc, bal, sec = _v("accuracy", lang), _v("balanced_accuracy", lang), _v("fit_seconds", lang)
    data = [
        go.Bar(x=list(names), y=[s.accuracy for s in scores], name=acc, marker={"color": PALETTE_LIGHT[0]},
               hovertemplate=f"{acc} %{{y:.1%}}<extra>%{{x}}</extra>"),
        go.Bar(x=list(names), y=[s.balanced_accuracy for s in scores], name=bal, marker={"color": PALETTE[0]},
               hovertemplate=f"{bal} %{{y:.1%}}<extra>%{{x}}</extra>"),
        go.Bar(x=list(names), y=seconds, xaxis="x2", yaxis="y2", marker={"color": colors}, showlegend=False,
               hovertemplate=f"{sec} %{{y:.3f}}<extra>%{{x}}</extra>"),
    ]
    low = min(s.balanced_accuracy for s in scores)
    layout = {
        "barmode": "group",
        "xaxis": {"domain": [0, 0.58], "type": "category"},
        "yaxis": {"title": {"text": _v("score_axis", lang)}, "tickformat": ".0%",
                  "range": [max(0.0, min(low, min(s.accuracy for s in scores)) - 0.1), 1.0]},
        "xaxis2": {"domain": [0.68, 1], "anchor": "y2", "type": "category"},
        "yaxis2": {"anchor": "x2", "title": {"text": sec}, **log_axis(seconds)},
        "margin": {"t": 40},
    }
    return styled_figure(data, layout, height=HEIGHT, lang=lang)


def paradox_figure(p: Paradox, *, lang: str = "en") -> go.Figure:
    """The model and the always-negative baseline side by side on accuracy, balanced accuracy, MCC and PR-AUC."""
    labels = [_v("accuracy", lang), _v("balanced_accuracy", lang), "MCC", "PR-AUC"]
    model = [p.model.accuracy, p.model.balanced_accuracy, p.model.mcc, p.pr_auc]
    never = [p.always_negative.accuracy, p.always_negative.balanced_accuracy, p.always_negative.mcc, p.pr_auc_chance]
    data = [go.Bar(x=labels, y=model, name=_v("the_model", lang), marker={"color": PALETTE[1]},
                   texttemplate="%{y:.2f}", hovertemplate="%{x}: %{y:.3f}<extra></extra>"),
            go.Bar(x=labels, y=never, name=_v("always_negative", lang), marker={"color": NEUTRAL_COLOR},
                   texttemplate="%{y:.2f}", hovertemplate="%{x}: %{y:.3f}<extra></extra>")]
    layout = {"barmode": "group", "yaxis": {"range": [min(0.0, *model, *never) - 0.05, 1.05]},
              "xaxis": {"type": "category"}}
    return styled_figure(data, layout, height=340, lang=lang)


def importance_figure(results: Sequence, names: Sequence[str], *, top: int = 12, lang: str = "en") -> go.Figure:
    """Permutation importance (labcore.evaluation.importance): the accuracy drop when a column is shuffled, one
    horizontal bar per model and feature with the repeats' standard deviation as error bars; the `top` features by
    the larger drop of any model, the most important at the top."""
    features = results[0].features
    order = np.argsort(-np.max([r.mean for r in results], axis=0), kind="stable")[:top][::-1]
    drop = _v("accuracy_drop", lang)
    data = [go.Bar(y=[features[i] for i in order], x=r.mean[order], orientation="h", name=name,
                   error_x={"type": "data", "array": r.std[order], "visible": True},
                   marker={"color": PALETTE[1] if r.model == "mlp" else PALETTE[0]},
                   hovertemplate=f"%{{y}}: {drop} %{{x:.3f}}<extra>{name}</extra>")
            for r, name in zip(results, names, strict=True)]
    layout = {"barmode": "group", "xaxis": {"title": {"text": drop}}, "yaxis": {"type": "category"},
              "margin": {"l": 160}}
    return styled_figure(data, layout, height=120 + 34 * len(order), lang=lang)
