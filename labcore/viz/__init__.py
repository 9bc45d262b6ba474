"""Pure figure builders for the lab's pages: data in, `plotly.graph_objects.Figure` out (no I/O, no models).

Every builder takes `lang=` and reads its text from the catalogue; the shared look lives in `theme`.
"""

from labcore.viz.classification import confusion_matrix_figure, per_class_figure, roc_figure
from labcore.viz.curves import grad_norm_figure, lr_figure, lr_finder_figure, training_curves_figure
from labcore.viz.explain import (
    beeswarm_figure,
    feature_maps_figure,
    importance_figure,
    localisation_figure,
    overlay_grid_figure,
    probability_bars_figure,
    probability_curve_figure,
    waterfall_figure,
)
from labcore.viz.images import image_grid_figure, mosaic
from labcore.viz.landscape import contour_figure, loss_vs_step_figure, optimizer_color, parabola_figure
from labcore.viz.points import decision_boundary_figure, scatter2d_figure
from labcore.viz.race import leaderboard_frame, leaderboard_rows, race_figure
from labcore.viz.theme import BAD_COLOR, GOOD_COLOR, PALETTE, class_colors, style

__all__ = [
    "BAD_COLOR",
    "beeswarm_figure",
    "feature_maps_figure",
    "importance_figure",
    "localisation_figure",
    "overlay_grid_figure",
    "probability_bars_figure",
    "probability_curve_figure",
    "waterfall_figure",
    "GOOD_COLOR",
    "PALETTE",
    "class_colors",
    "confusion_matrix_figure",
    "contour_figure",
    "decision_boundary_figure",
    "grad_norm_figure",
    "image_grid_figure",
    "lr_figure",
    "lr_finder_figure",
    "loss_vs_step_figure",
    "mosaic",
    "optimizer_color",
    "parabola_figure",
    "per_class_figure",
    "race_figure",
    "leaderboard_frame",
    "leaderboard_rows",
    "roc_figure",
    "scatter2d_figure",
    "style",
    "training_curves_figure",
]
