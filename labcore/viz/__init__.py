"""Pure figure builders for the lab's pages: data in, `plotly.graph_objects.Figure` out (no I/O, no models).

Every builder takes `lang=` and reads its text from the catalogue; the shared look lives in `theme`.
"""

from labcore.viz.classification import confusion_matrix_figure, per_class_figure, roc_figure
from labcore.viz.curves import grad_norm_figure, lr_figure, training_curves_figure
from labcore.viz.images import image_grid_figure, mosaic
from labcore.viz.points import decision_boundary_figure, scatter2d_figure
from labcore.viz.theme import BAD_COLOR, GOOD_COLOR, PALETTE, class_colors, style

__all__ = [
    "BAD_COLOR",
    "GOOD_COLOR",
    "PALETTE",
    "class_colors",
    "confusion_matrix_figure",
    "decision_boundary_figure",
    "grad_norm_figure",
    "image_grid_figure",
    "lr_figure",
    "mosaic",
    "per_class_figure",
    "roc_figure",
    "scatter2d_figure",
    "style",
    "training_curves_figure",
]
