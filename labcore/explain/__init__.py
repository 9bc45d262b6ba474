"""Explainability: what a trained image (or tabular) model looks at, and how easily it is fooled.

Every function takes a model built by `labcore.models.build_model`: normalisation lives inside the
model, so explanations and attacks work on raw inputs (pixels in [0, 1]). Nothing here imports
Streamlit; the Explain page caches and draws what these functions return.
"""

from __future__ import annotations

from labcore.explain.adversarial import AttackResult, attack, fgsm, pgd
from labcore.explain.attributions import METHODS, Explanation, conv_layers, explain, explain_all, last_conv_layer
from labcore.explain.features import (
    feature_maps,
    image_from_bytes,
    predict_proba,
    quick_model,
    top_losses,
)
from labcore.explain.ideal import IdealResult, ideal_image, total_variation
from labcore.explain.localisation import LocalisationResult, colour_distance_maps, localisation, model_free, randomised_copy
from labcore.explain.shapley import TabularShap, image_shap, tabular_shap

__all__ = [
    "METHODS",
    "AttackResult",
    "Explanation",
    "IdealResult",
    "LocalisationResult",
    "TabularShap",
    "attack",
    "conv_layers",
    "explain",
    "explain_all",
    "feature_maps",
    "fgsm",
    "ideal_image",
    "image_from_bytes",
    "image_shap",
    "last_conv_layer",
    "localisation",
    "pgd",
    "predict_proba",
    "quick_model",
    "randomised_copy",
    "model_free",
    "colour_distance_maps",
    "tabular_shap",
    "top_losses",
    "total_variation",
]
