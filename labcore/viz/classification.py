"""Evaluation charts from a `labcore.metrics.ClassificationReport`: confusion matrix, ROC curves, per-class bars."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.metrics import ClassificationReport
from labcore.viz.theme import (
    NEUTRAL_COLOR,
    PALETTE,
    SEQUENTIAL_SCALE,
    class_colors,
    message_annotation,
    styled_figure,
)

MAX_ANNOTATED_CLASSES = 15  # above this, numbers in the cells are too small to read
ROC_HEIGHT = 420
PER_CLASS_HEIGHT = 340


def confusion_height(n_classes: int) -> int:
    """A height giving square-ish cells: grows with the class count, within what a page can hold."""
    return int(np.clip(140 + 44 * n_classes, 320, 760))


def confusion_matrix_figure(
    cm: np.ndarray, class_names: list[str], *, normalize: bool = False, lang: str = "en"
) -> go.Figure:
    """Heatmap of true (rows, top to bottom) against predicted (columns) classes, counts or row shares."""
    counts = np.asarray(cm, dtype=np.int64)
    k = counts.shape[0]
    names = [str(name) for name in class_names]
    true_label, pred_label = t("viz.true_class", lang), t("viz.predicted_class", lang)
    count_label, share_label = t("viz.count", lang), t("viz.row_share", lang)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        # A class with no examples has no shares: its row stays 0 rather than dividing by zero.
        z = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
        texttemplate, colorbar = "%{z:.0%}", {"tickformat": ".0%"}
    else:
        z, texttemplate, colorbar = counts, "%{z:d}", {}
    # Per-cell hover names: (true name, predicted name, count), so hover reads in words.
    customdata = np.empty((k, k, 3), dtype=object)
    customdata[..., 0] = np.array(names, dtype=object)[:, None]
    customdata[..., 1] = np.array(names, dtype=object)[None, :]
    customdata[..., 2] = counts
    hover = f"{true_label}: %{{customdata[0]}}<br>{pred_label}: %{{customdata[1]}}<br>{count_label}: %{{customdata[2]}}"
    if normalize:
        hover += f"<br>{share_label}: %{{z:.1%}}"
    heatmap = go.Heatmap(
        z=z,
        # Integer positions with tick labels: class names such as "0".."9" must not become a numeric axis,
        # and repeated names must not merge cells.
        x=np.arange(k),
        y=np.arange(k),
        customdata=customdata,
        colorscale=SEQUENTIAL_SCALE,
        zmin=0,
        zmax=1 if normalize else max(int(counts.max(initial=0)), 1),
        xgap=1,
        ygap=1,
        texttemplate=texttemplate if k <= MAX_ANNOTATED_CLASSES else None,
        textfont={"size": 13 if k <= 6 else 11},
        hovertemplate=hover + "<extra></extra>",
        # Up to 15 classes every cell prints its value, so a colour bar would only take room.
        showscale=k > MAX_ANNOTATED_CLASSES,
        colorbar={"thickness": 12, "outlinewidth": 0, "len": 0.9, **colorbar},
    )
    tick_size = 12 if k <= MAX_ANNOTATED_CLASSES else 9
    axis = {
        "tickmode": "array",
        "tickvals": np.arange(k),
        "ticktext": names,
        "showgrid": False,
        "zeroline": False,
        "tickfont": {"size": tick_size},
        "ticks": "",
    }
    layout = {
        "xaxis": {**axis, "title": {"text": pred_label}, "side": "bottom", "constrain": "domain"},
        # First class at the top, like the matrix printed on paper; square cells via scaleanchor.
        "yaxis": {
            **axis,
            "title": {"text": true_label},
            "autorange": "reversed",
            "scaleanchor": "x",
            "constrain": "domain",
        },
        "margin": {"t": 10},  # no legend above
    }
    return styled_figure([heatmap], layout, height=confusion_height(k))


def roc_figure(report: ClassificationReport, *, lang: str = "en") -> go.Figure:
    """One-vs-rest ROC curve per class with its AUC in the legend, over the dashed chance diagonal."""
    names = report.class_names
    colors = dict(zip(names, class_colors(len(names)), strict=True))
    fpr_label, tpr_label = t("viz.false_positive_rate", lang), t("viz.true_positive_rate", lang)
    traces = [
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            name=t("viz.chance", lang),
            mode="lines",
            line={"color": NEUTRAL_COLOR, "dash": "dash", "width": 1},
            hoverinfo="skip",
            legendrank=2000,  # listed after the classes
        )
    ]
    for name, (fpr, tpr) in report.roc.items():
        label = t("viz.auc_label", lang, name=name, auc=report.auc.get(name, float("nan")))
        traces.append(
            go.Scatter(
                x=np.asarray(fpr, dtype=np.float32),
                y=np.asarray(tpr, dtype=np.float32),
                name=label,
                mode="lines",
                # Linear segments, not steps: tied scores give a diagonal piece of the curve.
                line={"color": colors.get(name, PALETTE[0]), "width": 2},
                hovertemplate=f"{fpr_label}: %{{x:.2f}}<br>{tpr_label}: %{{y:.2f}}<extra>{name}</extra>",
            )
        )
    square = {"range": [0, 1], "constrain": "domain", "zeroline": False, "tickformat": ".1f"}
    # Legend beside the square plot (the plot keeps equal axes, so the space is free anyway);
    # with many classes plotly lets it scroll.
    legend = {
        "orientation": "v",
        "x": 1.02,
        "xanchor": "left",
        "y": 1.0,
        "yanchor": "top",
        "font": {"size": 12 if len(traces) <= 11 else 11},
    }
    if "macro" in report.auc:
        legend["title"] = {"text": t("viz.macro_auc", lang, auc=report.auc["macro"])}
    layout = {
        "xaxis": {**square, "title": {"text": fpr_label}},
        "yaxis": {**square, "title": {"text": tpr_label}, "scaleanchor": "x"},
        "legend": legend,
        "margin": {"t": 12},
    }
    if not report.roc:
        layout["annotations"] = [message_annotation(t("viz.roc_unavailable", lang))]
    return styled_figure(traces, layout, height=ROC_HEIGHT)


def per_class_figure(report: ClassificationReport, *, lang: str = "en") -> go.Figure:
    """Grouped bars of precision, recall and F1 per class (support in the hover)."""
    table = report.per_class
    names = report.class_names
    support_label = t("viz.support", lang)
    class_label, score_label = t("viz.class", lang), t("viz.score", lang)
    support = table["support"].to_numpy()
    traces = []
    for column, color in zip(
        ("precision", "recall", "f1"), (PALETTE[0], PALETTE[1], PALETTE[4]), strict=True
    ):
        label = t(f"viz.{column}", lang)
        traces.append(
            go.Bar(
                x=names,
                y=table[column].to_numpy(dtype=np.float64),
                customdata=support,
                name=label,
                marker={"color": color},
                hovertemplate=f"{label}: %{{y:.1%}}<br>{support_label}: %{{customdata:d}}<extra></extra>",
            )
        )
    many = len(names) > 15
    layout = {
        "barmode": "group",
        "bargap": 0.25,
        "bargroupgap": 0.05,
        "xaxis": {
            "title": {"text": class_label},
            # Category axis: names like "0".."9" stay labels, and unified hover shows the class name.
            "type": "category",
            "tickfont": {"size": 9 if many else 12},
        },
        "yaxis": {"title": {"text": score_label}, "range": [0, 1.0], "tickformat": ".0%"},
    }
    return styled_figure(traces, layout, height=PER_CLASS_HEIGHT, hovermode="x unified")
