"""Figures of the Evaluation page's regression tab (lesson 5): predicted against true with the y = x line, and
the residuals against the prediction. Data from labcore.evaluation.regression in, a Figure out, text from the
catalogue's `evaluation.reg.viz` table."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.theme import BAD_COLOR, NEUTRAL_COLOR, PALETTE, styled_figure

HEIGHT = 380


def _v(key: str, lang: str, **fmt) -> str:
    return t(f"evaluation.reg.viz.{key}", lang, **fmt)


def _marker(y_true: np.ndarray, y_clean: np.ndarray) -> dict:
    moved = ~np.isclose(y_true, y_clean)
    return {"color": [BAD_COLOR if m else PALETTE[1] for m in moved], "size": [10 if m else 7 for m in moved],
            "line": {"color": "white", "width": 1}}


def scatter_figure(y_true: np.ndarray, y_pred: np.ndarray, y_clean: np.ndarray | None = None, *,
                   lang: str = "en") -> go.Figure:
    """Each test row as a point (true, predicted); the dashed y = x line is a perfect model. Rows whose target
    was made an outlier (differs from `y_clean`) are red."""
    y_clean = y_true if y_clean is None else y_clean
    lo = float(min(y_true.min(), y_pred.min()))
    hi = float(max(y_true.max(), y_pred.max()))
    pad = 0.05 * (hi - lo)
    true, pred = _v("true", lang), _v("predicted", lang)
    data = [go.Scatter(x=[lo - pad, hi + pad], y=[lo - pad, hi + pad], mode="lines", name=_v("perfect", lang),
                       line={"color": NEUTRAL_COLOR, "dash": "dash"}, hoverinfo="skip"),
            go.Scatter(x=y_true, y=y_pred, mode="markers", name=_v("test_rows", lang), marker=_marker(y_true, y_clean),
                       hovertemplate=f"{true} %{{x:.0f}}<br>{pred} %{{y:.1f}}<extra></extra>")]
    layout = {"xaxis": {"title": {"text": true}, "range": [lo - pad, hi + pad]},
              "yaxis": {"title": {"text": pred}, "range": [lo - pad, hi + pad], "scaleanchor": "x"}}
    return styled_figure(data, layout, height=HEIGHT, lang=lang)


def residual_figure(y_true: np.ndarray, y_pred: np.ndarray, y_clean: np.ndarray | None = None, *,
                    lang: str = "en") -> go.Figure:
    """Residual (true − predicted) against the prediction, with the zero line: a good model leaves a shapeless band."""
    y_clean = y_true if y_clean is None else y_clean
    res = y_true - y_pred
    pred, r = _v("predicted", lang), _v("residual", lang)
    data = [go.Scatter(x=y_pred, y=res, mode="markers", name=_v("test_rows", lang), marker=_marker(y_true, y_clean),
                       hovertemplate=f"{pred} %{{x:.1f}}<br>{r} %{{y:.1f}}<extra></extra>", showlegend=False)]
    layout = {"xaxis": {"title": {"text": pred}}, "yaxis": {"title": {"text": r}, "zeroline": True},
              "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
                          "line": {"color": NEUTRAL_COLOR, "dash": "dash"}}]}
    return styled_figure(data, layout, height=HEIGHT, lang=lang)
