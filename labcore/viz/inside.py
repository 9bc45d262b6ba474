"""Inside the network while it trains: figures from `labcore.train.inspector.Inspector` records.

Per layer against the training step: standard deviations of activations and of their gradients (log y), the
share of dead ReLUs and saturated tanh/sigmoid outputs, weight norms, update-to-weight ratios (log y, with
the 1e-3 rule of thumb), and one layer's distribution over time as a heat map (TensorBoard's
"distributions": x = step, y = value, colour = the share of values in that bin at that step).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.theme import NEUTRAL_COLOR, SEQUENTIAL_SCALE, class_colors, log_axis, message_annotation, styled_figure

HEIGHT = 260
HEAT_BINS = 60  # rows of the heat map: each look's own bins are spread onto this common grid
RULE_OF_THUMB = 1e-3  # update ratio: ~1e-3 is healthy; far below learns slowly, far above is unstable


def layers_of(records: list[dict], group: str) -> list[str]:
    """The layer labels in `group` ("act", "grad", "weights") in model order, as the latest record has them."""
    return list(records[-1][group]) if records else []


def _empty(layout: dict, lang: str, key: str = "viz.press_train") -> None:
    layout["xaxis"]["range"] = [0, 1]
    layout["yaxis"]["showticklabels"] = False
    layout["annotations"] = [message_annotation(t(key, lang))]


def _curves(records: list[dict], group: str, field: str, y_key: str, *, log_y: bool = False, percent: bool = False,
            lang: str = "en", layers: list[str] | None = None) -> tuple[list, dict]:
    step_label = t("viz.step", lang)
    layout = {"xaxis": {"title": {"text": step_label}, "zeroline": False},
              "yaxis": {"title": {"text": t(y_key, lang)}, "tickformat": "~g"},
              "margin": {"t": 30}}
    names = layers if layers is not None else layers_of(records, group)
    traces, shown = [], []
    for name, color in zip(names, class_colors(len(names)), strict=True):
        rows = [(r["step"], r[group][name][field]) for r in records
                if name in r[group] and r[group][name].get(field) is not None]
        if not rows:
            continue
        x, y = np.array(rows, dtype=np.float64).T
        if log_y:
            y = np.where(y > 0, y, np.nan)  # a log axis cannot place 0
        if percent:
            y = y * 100
        shown.append(y)
        fmt = ".1f" if percent else ".3g"
        traces.append(go.Scatter(x=x, y=y, name=name, mode="lines", line={"color": color, "width": 1.8},
                                 hovertemplate=f"{step_label} %{{x:d}}: %{{y:{fmt}}}{'%' if percent else ''}"
                                               f"<extra>{name}</extra>"))
    if log_y:
        layout["yaxis"].update(log_axis(*shown) if shown else {"type": "log"})
    if percent:
        layout["yaxis"]["range"] = [-2, 102]
    return traces, layout


def std_figure(records: list[dict], kind: str = "act", *, lang: str = "en") -> go.Figure:
    """Standard deviation per layer of the activations (`kind="act"`) or of their gradients ("grad"), log y."""
    traces, layout = _curves(records, kind, "std", f"inside.std_{kind}", log_y=True, lang=lang)
    if not traces:
        _empty(layout, lang)
    return styled_figure(traces, layout, height=HEIGHT, hovermode="x", lang=lang)


def health_figure(records: list[dict], *, lang: str = "en") -> go.Figure:
    """Dead ReLU units and saturated tanh/sigmoid outputs per layer, in % of the layer (0-100)."""
    dead, layout = _curves(records, "act", "dead", "inside.health_axis", percent=True, lang=lang)
    saturated, _ = _curves(records, "act", "saturated", "inside.health_axis", percent=True, lang=lang)
    for tr in dead:
        tr.name = t("inside.dead", lang, layer=tr.name)
    for tr in saturated:
        tr.name = t("inside.saturated", lang, layer=tr.name)
        tr.line.dash = "dot"
    traces = dead + saturated
    if not traces:
        key = "inside.no_health" if records else "viz.press_train"
        _empty(layout, lang, key)
    return styled_figure(traces, layout, height=HEIGHT, hovermode="x", lang=lang)


def weight_norm_figure(records: list[dict], *, lang: str = "en") -> go.Figure:
    """‖W‖ of each weight matrix (Linear/Conv) against the step."""
    traces, layout = _curves(records, "weights", "norm", "inside.weight_norm", lang=lang)
    if not traces:
        _empty(layout, lang)
    return styled_figure(traces, layout, height=HEIGHT, hovermode="x", lang=lang)


def update_ratio_figure(records: list[dict], *, lang: str = "en") -> go.Figure:
    """‖ΔW‖/‖W‖ per step for each weight matrix on a log axis, with a dashed line at the 1e-3 rule of thumb."""
    traces, layout = _curves(records, "weights", "ratio", "inside.update_ratio", log_y=True, lang=lang)
    if traces:
        values = [tr.y for tr in traces] + [np.array([RULE_OF_THUMB])]
        layout["yaxis"].update(log_axis(*values))
        layout["shapes"] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": RULE_OF_THUMB,
                             "y1": RULE_OF_THUMB, "line": {"color": NEUTRAL_COLOR, "width": 1.5, "dash": "dash"}}]
        layout["annotations"] = [{"xref": "paper", "x": 1, "xanchor": "right", "y": np.log10(RULE_OF_THUMB),
                                  "yanchor": "bottom", "showarrow": False, "text": t("inside.rule_of_thumb", lang),
                                  "font": {"color": NEUTRAL_COLOR}}]
    else:
        _empty(layout, lang)
    return styled_figure(traces, layout, height=HEIGHT, hovermode="x", lang=lang)


def distribution_grid(records: list[dict], layer: str, kind: str = "act",
                      bins: int = HEAT_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, bin centres, shares[bin, step]): each look's histogram spread onto one common value grid.

    A look's bins span its own min..max; each one's count is spread evenly over the grid bins it overlaps (no
    empty grid rows between a coarse look's bins); each column sums to 1.
    """
    rows = [(r["step"], r[kind][layer]) for r in records if layer in r[kind]]
    if not rows:
        return np.zeros(0), np.zeros(0), np.zeros((0, 0))
    lo = min(s["lo"] for _, s in rows)
    hi = max(s["hi"] for _, s in rows)
    if not hi > lo:
        hi = lo + 1e-12
    edges = np.linspace(lo, hi, bins + 1)
    grid = np.zeros((bins, len(rows)))
    for j, (_, s) in enumerate(rows):
        counts = np.asarray(s["counts"], dtype=np.float64)
        if s["hi"] > s["lo"]:  # each own bin's count spread evenly over its range: interpolate the running total
            cumulative = np.concatenate([[0.0], np.cumsum(counts)])
            column = np.diff(np.interp(edges, np.linspace(s["lo"], s["hi"], len(counts) + 1), cumulative))
        else:  # every value the same
            column = np.zeros(bins)
            column[min(bins - 1, int(np.searchsorted(edges, s["lo"], side="right")) - 1)] = counts.sum()
        total = column.sum()
        grid[:, j] = column / total if total > 0 else column
    return np.array([step for step, _ in rows], dtype=np.float64), (edges[:-1] + edges[1:]) / 2, grid


def distribution_figure(records: list[dict], layer: str | None, kind: str = "act", *, lang: str = "en") -> go.Figure:
    """One layer's activations (or their gradients) over time: x = step, y = value, colour = share of values.

    The colour scale stops at the 95th percentile of the shares, so a spike (a ReLU's zeros) does not wash
    the rest out; hovering shows the true share.
    """
    step_label, value_label = t("viz.step", lang), t(f"inside.value_{kind}", lang)
    layout = {"xaxis": {"title": {"text": step_label}, "zeroline": False},
              "yaxis": {"title": {"text": value_label}, "tickformat": "~g"}, "margin": {"t": 30}}
    steps, centres, grid = distribution_grid(records, layer, kind) if layer else (np.zeros(0),) * 3
    if not len(steps):
        _empty(layout, lang)
        return styled_figure([], layout, height=HEIGHT + 40, lang=lang)
    positive = grid[grid > 0]
    top = float(np.quantile(positive, 0.95)) if len(positive) else 1.0
    share = t("inside.share", lang)
    heat = go.Heatmap(x=steps, y=centres, z=grid, zmin=0, zmax=max(top, 1e-12), colorscale=SEQUENTIAL_SCALE,
                      colorbar={"title": {"text": share}, "tickformat": ".0%", "thickness": 12},
                      hovertemplate=f"{step_label} %{{x:d}}<br>{value_label} %{{y:.3g}}<br>{share} %{{z:.1%}}"
                                    "<extra></extra>")
    return styled_figure([heat], layout, height=HEIGHT + 40, lang=lang)


__all__ = ["distribution_figure", "distribution_grid", "health_figure", "layers_of", "std_figure",
           "update_ratio_figure", "weight_norm_figure"]
