"""The correlated-features demo's figure (labcore.evaluation.explanations.twin_importance): one column's
permutation importance alone, then split between it and its exact copy, per model."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.theme import PALETTE, PALETTE_LIGHT, styled_figure


def twins_figure(results: Sequence, model_names: Sequence[str], feature: str, *, lang: str = "en") -> go.Figure:
    """Grouped bars per model: the column alone (before), the column next to its copy, the copy (after); error
    bars: the standard deviation over the shuffles. The bars are the results' numbers, unchanged."""
    def bar(label: str, color: str, pick) -> go.Bar:
        means, stds = zip(*(pick(r) for r in results), strict=True)
        return go.Bar(x=list(model_names), y=list(means), name=label, marker={"color": color},
                      error_y={"type": "data", "array": list(stds), "visible": True},
                      hovertemplate=f"%{{x}}: %{{y:.4f}}<extra>{label}</extra>")

    data = [bar(t("evaluation.explain.viz_alone", lang, name=feature), PALETTE[0],
                lambda r: (r.before_mean[r.feature], r.before_std[r.feature])),
            bar(t("evaluation.explain.viz_original", lang, name=feature), PALETTE[1],
                lambda r: (r.after_mean[r.feature], r.after_std[r.feature])),
            bar(t("evaluation.explain.viz_copy", lang), PALETTE_LIGHT[1], lambda r: (r.after_mean[-1], r.after_std[-1]))]
    layout = {"barmode": "group", "yaxis": {"title": {"text": t("evaluation.explain.viz_rise", lang)}},
              "xaxis": {"type": "category"}}
    return styled_figure(data, layout, height=340, lang=lang)
