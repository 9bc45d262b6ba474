"""Figures for the Explain page: heat-map overlays, probability bars, SHAP beeswarm and waterfall,
feature-map grids, localisation scores. Pure builders: arrays in, plotly figures out.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labcore.i18n import t
from labcore.viz.images import image_grid_figure
from labcore.viz.theme import BAD_COLOR, NEUTRAL_COLOR, PALETTE, styled_figure

# Inferno's anchor colours: dark-to-bright, readable for colour-blind viewers and in greyscale.
_HEAT = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=np.float32) / 255
_POS, _NEG = np.array([0.89, 0.10, 0.11]), np.array([0.13, 0.40, 0.80])  # SHAP: red pushes up, blue down


def heat_colours(m: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) colours along the heat scale."""
    stops = np.linspace(0, 1, len(_HEAT))
    m = np.clip(np.nan_to_num(m), 0, 1)
    return np.stack([np.interp(m, stops, _HEAT[:, c]) for c in range(3)], axis=-1)


def _grey(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) grey, so the heat colours stand out on top."""
    g = np.asarray(image, dtype=np.float32).mean(0)
    return np.repeat(g[..., None], 3, axis=-1)


def overlay(image: np.ndarray, attribution: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    """Heat map over a greyed image: strong evidence shows in colour, none leaves the image visible."""
    a = np.clip(attribution, 0, 1)[..., None] * alpha
    return (1 - a) * _grey(image) + a * heat_colours(attribution)


def signed_overlay(image: np.ndarray, values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Signed map (e.g. SHAP) over a greyed image: red for positive, blue for negative evidence."""
    scale = scale or float(np.abs(values).max()) or 1.0  # 0 or None: scale by this map's own maximum
    v = np.clip(values / scale, -1, 1)[..., None]
    colour = np.where(v >= 0, _POS, _NEG)
    a = np.abs(v) * 0.85
    return (1 - a) * _grey(image) + a * colour


def grid_height(n: int, cols: int, tile_px: int = 140) -> int:
    """Figure height that shows `n` tiles in rows of `cols` at about `tile_px` each, with their titles
    (image_grid_figure keeps square pixels, so the height sets the size; a narrow column shrinks it)."""
    return int(-(-n // cols) * tile_px * 1.3)


def overlay_grid_figure(image: np.ndarray, maps: list[np.ndarray], titles: list[str], *, signed: bool = False,
                        cols: int = 6, lang: str = "en", height: int | None = None) -> go.Figure:
    """The image itself, then one overlay per map, in rows of crisp tiles (titles: image first)."""
    # One shared scale for signed maps; the 99th percentile rather than the maximum, so a few extreme
    # pixels do not wash every other one out.
    scale = float(np.percentile(np.abs(np.stack(maps)), 99)) if maps else 1.0
    tiles = [np.clip(np.repeat(image, 3, 0) if image.shape[0] == 1 else image, 0, 1).transpose(1, 2, 0)]
    tiles += [signed_overlay(image, m, scale) if signed else overlay(image, m) for m in maps]
    return image_grid_figure(np.stack(tiles), titles=titles, cols=cols, lang=lang,
                             height=height or grid_height(len(tiles), cols))


def probability_bars_figure(probs: np.ndarray, class_names: list[str], *, after: np.ndarray | None = None,
                            highlight: int | None = None, lang: str = "en", height: int | None = None) -> go.Figure:
    """Horizontal bars of class probabilities; with `after`, before/after pairs (an attack's effect)."""
    names = list(class_names)
    y = names[::-1]  # first class on top
    if after is None:
        colours = [PALETTE[0] if i != highlight else PALETTE[1] for i in range(len(names))][::-1]
        data = [go.Bar(x=probs[::-1], y=y, orientation="h", marker_color=colours,
                       texttemplate="%{x:.1%}", textposition="outside", cliponaxis=False,
                       hovertemplate="%{y}: %{x:.2%}<extra></extra>")]
    else:
        data = [go.Bar(x=p[::-1], y=y, orientation="h", name=t(f"explain.viz.{key}", lang), marker_color=colour,
                       texttemplate="%{x:.1%}", textposition="outside", cliponaxis=False,
                       hovertemplate="%{y}: %{x:.2%}<extra></extra>")
                for p, key, colour in ((after, "after", BAD_COLOR), (probs, "before", NEUTRAL_COLOR))]
    layout = {"legend": {"traceorder": "reversed"},  # bars drawn bottom-up: "before" on top, first in the legend
              "xaxis": {"range": [0, 1.18], "tickformat": ".0%", "tickvals": [0, 0.5, 1],
                        "title": t("explain.viz.probability", lang)},
              # every class labelled: class names such as "0".."9" would otherwise make a numeric axis that
              # labels every other digit (and may leave the winner unlabelled)
              "yaxis": {"type": "category", "tickmode": "array", "tickvals": y, "ticktext": y, "automargin": True},
              "barmode": "group", "showlegend": after is not None}
    return styled_figure(data, layout, height=height or 60 + 28 * len(names) * (2 if after is not None else 1))


def probability_curve_figure(prob: np.ndarray, class_name: str, *, lang: str = "en") -> go.Figure:
    """The class probability after each optimisation step (ideal-class images)."""
    steps = np.arange(1, len(prob) + 1)
    data = [go.Scatter(x=steps, y=prob, mode="lines", line={"color": PALETTE[1], "width": 2.5}, name=class_name)]
    layout = {"xaxis": {"title": t("viz.step", lang)},
              "yaxis": {"title": t("viz.probability_of", lang, name=class_name), "range": [0, 1.02],
                        "tickformat": ".0%"}}
    return styled_figure(data, layout, height=260)


def _top_features(values: np.ndarray, top: int) -> np.ndarray:
    """Indices of the `top` features by mean |value|, most important first."""
    return np.argsort(-np.abs(values).mean(0))[:top]


def beeswarm_figure(values: np.ndarray, x: np.ndarray, feature_names: list[str], *, top: int = 12,
                    lang: str = "en") -> go.Figure:
    """SHAP summary: one row per feature (most important on top), one dot per example, coloured by the
    feature's value (low blue, high red), at its SHAP value: which features matter, and in which direction."""
    order = _top_features(values, top)
    rng = np.random.default_rng(0)
    xs, ys, cs, texts = [], [], [], []
    for row, f in enumerate(order[::-1]):
        v, fv = values[:, f], x[:, f]
        lo, hi = np.nanpercentile(fv, 5), np.nanpercentile(fv, 95)
        xs.append(v)
        ys.append(row + rng.uniform(-0.3, 0.3, len(v)))  # jitter: a swarm without the dot-packing
        cs.append(np.clip((fv - lo) / (hi - lo if hi > lo else 1.0), 0, 1))
        texts += [f"{feature_names[f]} = {val:.2f}" for val in fv]
    scatter = go.Scatter(
        x=np.concatenate(xs), y=np.concatenate(ys), mode="markers", text=texts,
        marker={"size": 6, "color": np.concatenate(cs), "colorscale": [[0, "#1E64C8"], [0.5, "#B4B4B4"], [1, "#E31A1C"]],
                "colorbar": {"title": t("explain.viz.feature_value", lang), "tickvals": [0, 1],
                             "ticktext": [t("explain.viz.low", lang), t("explain.viz.high", lang)], "thickness": 12}},
        hovertemplate="%{text}<br>SHAP %{x:.3f}<extra></extra>", showlegend=False)
    layout = {"xaxis": {"title": t("explain.viz.shap_value", lang), "zeroline": True, "zerolinecolor": NEUTRAL_COLOR},
              "yaxis": {"tickvals": list(range(len(order))), "ticktext": [feature_names[f] for f in order[::-1]]}}
    return styled_figure([scatter], layout, height=80 + 26 * len(order))


def waterfall_figure(values: np.ndarray, base: float, feature_names: list[str], feature_values: np.ndarray, *,
                     top: int = 10, lang: str = "en", output: str | None = None) -> go.Figure:
    """One row's SHAP values as steps from the average output E[f(X)] to this row's output f(x);
    the smallest contributions are lumped together so the sum stays exact. `output`: the x-axis title (what f
    gives; the default says a logit)."""
    order = np.argsort(-np.abs(values))
    shown, rest = order[:top], order[top:]
    labels = [f"{feature_names[f]} = {feature_values[f]:.2f}" for f in shown]
    steps = list(values[shown])
    if len(rest):
        labels.append(t("explain.viz.other_features", lang, n=len(rest)))
        steps.append(float(values[rest].sum()))
    labels, steps = labels[::-1], steps[::-1]  # biggest at the top, next to the final output
    fig = go.Waterfall(
        orientation="h", base=base, y=labels, x=steps, measure=["relative"] * len(steps),
        increasing={"marker": {"color": "#E31A1C"}}, decreasing={"marker": {"color": "#1E64C8"}},
        texttemplate="%{x:+.3f}", textposition="outside", hovertemplate="%{y}: %{x:+.3f}<extra></extra>")
    total = base + float(np.sum(values))
    ends = base + np.cumsum([0.0, *steps])
    pad = 0.25 * (float(ends.max() - ends.min()) or 1.0)  # room for the numbers written beside the end bars
    layout = {"xaxis": {"title": output or t("explain.viz.model_output", lang),
                        "range": [float(ends.min()) - pad, float(ends.max()) + pad]}, "showlegend": False,
              "shapes": [{"type": "line", "x0": v, "x1": v, "yref": "paper", "y0": 0, "y1": 1,
                          "line": {"dash": "dot", "color": NEUTRAL_COLOR}} for v in (base, total)],
              # both labels above the bars, one line apart (below, f(x) sat on the axis's tick labels)
              "annotations": [{"x": base, "y": 1.0, "yref": "paper", "yshift": 22, "showarrow": False,
                               "yanchor": "bottom", "text": t("explain.viz.expected_output", lang, value=base)},
                              {"x": total, "y": 1.0, "yref": "paper", "yshift": 2, "showarrow": False,
                               "yanchor": "bottom", "text": t("explain.viz.this_output", lang, value=total)}],
              "margin": {"t": 64, "b": 40}}
    return styled_figure([fig], layout, height=100 + 28 * len(steps))


def importance_figure(feature_names: list[str], shap_values: np.ndarray, perm_mean: np.ndarray,
                      perm_std: np.ndarray, *, top: int = 12, lang: str = "en") -> go.Figure:
    """Mean |SHAP| next to permutation importance, for the same features in the same order."""
    order = _top_features(shap_values, top)[::-1]
    names = [feature_names[f] for f in order]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=(t("explain.viz.mean_abs_shap", lang), t("explain.viz.permutation_importance", lang)))
    fig.add_trace(go.Bar(x=np.abs(shap_values).mean(0)[order], y=names, orientation="h", marker_color=PALETTE[0],
                         showlegend=False), 1, 1)
    fig.add_trace(go.Bar(x=perm_mean[order], y=names, orientation="h", marker_color=PALETTE[4], showlegend=False,
                         error_x={"type": "data", "array": perm_std[order]}), 1, 2)
    fig.update_layout(height=80 + 24 * len(order), margin={"l": 8, "r": 8, "t": 36, "b": 8}, font={"size": 13})
    return fig


def feature_maps_figure(maps: np.ndarray, *, cols: int = 16, lang: str = "en") -> go.Figure:
    """Every channel of one layer's output (C, h, w) as a grey tile, each scaled to its own range."""
    m = np.asarray(maps, dtype=np.float32)
    lo = m.min(axis=(1, 2), keepdims=True)
    span = m.max(axis=(1, 2), keepdims=True) - lo
    scaled = np.where(span > 0, (m - lo) / np.where(span > 0, span, 1), 0.0)
    return image_grid_figure(scaled[:, None], cols=cols, lang=lang)


def localisation_figure(trained: dict[str, float], randomised: dict[str, float], chance: float, *,
                        lang: str = "en", model_free: dict[str, float] | None = None) -> go.Figure:
    """Localisation scores of the trained model against the same network with random weights, and (if given)
    against a map that uses no model at all."""
    metrics = ["mass_inside", "pointing"]
    labels = [t(f"explain.viz.{m}", lang) for m in metrics]
    series = [(trained, "trained", PALETTE[0]), (randomised, "randomised", NEUTRAL_COLOR)]
    if model_free is not None:
        series.append((model_free, "model_free", PALETTE[2]))
    data = [go.Bar(x=labels, y=[scores[m] for m in metrics], name=t(f"explain.viz.{key}", lang), marker_color=colour,
                   texttemplate="%{y:.0%}", textposition="outside")
            for scores, key, colour in series]
    # The chance line belongs to the first group only; its legend entry is an empty trace of the same style.
    line = {"dash": "dot", "color": BAD_COLOR, "width": 2}
    data.append(go.Scatter(x=[None], y=[None], mode="lines", line=line, name=t("explain.viz.chance_mass", lang)))
    layout = {"barmode": "group", "yaxis": {"range": [0, 1.1], "tickformat": ".0%"},
              "shapes": [{"type": "line", "xref": "x domain", "x0": 0, "x1": 0.5, "y0": chance, "y1": chance,
                          "line": line}]}
    return styled_figure(data, layout, height=320)
