"""Figures of the Evaluation page's regression tab (lesson 5): predicted against true with the y = x line, the
residuals against the prediction, and the models' lines over x (the 1-D wave's fitted curves, the CO₂ test months
over time). Data from labcore.evaluation.regression in, a Figure out, text from the catalogue's `evaluation.reg.viz`
table. `data` picks the words (the diabetes table's "score" and "patients", otherwise plain "value" and "rows")."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.theme import BAD_COLOR, NEUTRAL_COLOR, PALETTE, styled_figure

HEIGHT = 380
POINT_COLORS = (NEUTRAL_COLOR, PALETTE[1])  # training points grey, test points orange (at most two sets)
LINE_COLORS = (PALETTE[4], PALETTE[6], PALETTE[3], PALETTE[0])  # mean, linear, boosting, MLP (in MODELS' order)


def _v(key: str, lang: str, **fmt) -> str:
    return t(f"evaluation.reg.viz.{key}", lang, **fmt)


def _labels(data: str, lang: str) -> tuple[str, str, str]:
    """(true, predicted, test rows) in the words of the data set."""
    if data == "diabetes":
        return _v("true", lang), _v("predicted", lang), _v("test_rows", lang)
    return _v("true_value", lang), _v("predicted_value", lang), _v("test_points", lang)


def _marker(y_true: np.ndarray, y_clean: np.ndarray) -> dict:
    moved = ~np.isclose(y_true, y_clean)
    return {"color": [BAD_COLOR if m else PALETTE[1] for m in moved], "size": [10 if m else 7 for m in moved],
            "line": {"color": "white", "width": 1}}


def scatter_figure(y_true: np.ndarray, y_pred: np.ndarray, y_clean: np.ndarray | None = None, *,
                   lang: str = "en", data: str = "diabetes", digits: int = 1) -> go.Figure:
    """Each test row as a point (true, predicted); the dashed y = x line is a perfect model. Rows whose target
    was made an outlier (differs from `y_clean`) are red."""
    y_clean = y_true if y_clean is None else y_clean
    lo = float(min(y_true.min(), y_pred.min()))
    hi = float(max(y_true.max(), y_pred.max()))
    pad = 0.05 * (hi - lo)
    true, pred, rows = _labels(data, lang)
    true_fmt = ".0f" if data == "diabetes" else f".{digits}f"  # the diabetes scores are whole numbers
    data_ = [go.Scatter(x=[lo - pad, hi + pad], y=[lo - pad, hi + pad], mode="lines", name=_v("perfect", lang),
                        line={"color": NEUTRAL_COLOR, "dash": "dash"}, hoverinfo="skip"),
             go.Scatter(x=y_true, y=y_pred, mode="markers", name=rows, marker=_marker(y_true, y_clean),
                        hovertemplate=f"{true} %{{x:{true_fmt}}}<br>{pred} %{{y:.{digits}f}}<extra></extra>")]
    layout = {"xaxis": {"title": {"text": true}, "range": [lo - pad, hi + pad]},
              "yaxis": {"title": {"text": pred}, "range": [lo - pad, hi + pad], "scaleanchor": "x"}}
    return styled_figure(data_, layout, height=HEIGHT, lang=lang)


def residual_figure(y_true: np.ndarray, y_pred: np.ndarray, y_clean: np.ndarray | None = None, *,
                    lang: str = "en", data: str = "diabetes", digits: int = 1) -> go.Figure:
    """Residual (true − predicted) against the prediction, with the zero line: a good model leaves a shapeless band."""
    y_clean = y_true if y_clean is None else y_clean
    res = y_true - y_pred
    _, pred, rows = _labels(data, lang)
    r = _v("residual", lang)
    data_ = [go.Scatter(x=y_pred, y=res, mode="markers", name=rows, marker=_marker(y_true, y_clean),
                        hovertemplate=f"{pred} %{{x:.{digits}f}}<br>{r} %{{y:.{digits}f}}<extra></extra>",
                        showlegend=False)]
    layout = {"xaxis": {"title": {"text": pred}}, "yaxis": {"title": {"text": r}, "zeroline": True},
              "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
                          "line": {"color": NEUTRAL_COLOR, "dash": "dash"}}]}
    return styled_figure(data_, layout, height=HEIGHT, lang=lang)


def lines_figure(points: list[tuple[str, np.ndarray, np.ndarray]], x_line: np.ndarray, lines: dict[str, np.ndarray],
                 x_title: str, y_title: str, *, truth: tuple[str, np.ndarray] | None = None, lang: str = "en",
                 digits: int = 2) -> go.Figure:
    """Data points (name, x, y) as dots and each model's predictions along `x_line` as a line (name -> y), with an
    optional dashed reference line `truth` (name, y): the wave's fitted curves over x, or the test months over time."""
    hover = f"%{{x:.{digits}f}}, %{{y:.{digits}f}}"
    data_ = [go.Scatter(x=x, y=y, mode="markers", name=name, marker={"color": color, "size": 5, "opacity": 0.6},
                        hovertemplate=f"{name}<br>{hover}<extra></extra>")
             for (name, x, y), color in zip(points, POINT_COLORS[:len(points)], strict=True)]
    if truth is not None:
        data_.append(go.Scatter(x=x_line, y=truth[1], mode="lines", name=truth[0], hoverinfo="skip",
                                line={"color": NEUTRAL_COLOR, "dash": "dash", "width": 2}))
    for i, (name, y) in enumerate(lines.items()):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        data_.append(go.Scatter(x=x_line, y=y, mode="lines", name=name, line={"color": color, "width": 2.5},
                                hovertemplate=f"{name}<br>{hover}<extra></extra>"))
    layout = {"xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}}}
    return styled_figure(data_, layout, height=HEIGHT + 40, lang=lang, hovermode="closest")
