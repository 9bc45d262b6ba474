"""One explainer at a time per model.

captum and SHAP register hooks on a model's modules (Grad-CAM's activations, guided backprop's ReLU
rules), and feature maps add hooks of their own: two threads working on the same model at once see each
other's hooks and get wrong maps or errors (3 threads x 40 calls on the shared default model gave 35 wrong
feature maps and 93 captum errors). Every explainer below takes its model's lock; different models still
run in parallel.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

from torch import nn

F = TypeVar("F", bound=Callable)
_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def model_lock(model: nn.Module) -> threading.RLock:
    """The lock of this model object (made on first use, dropped with the model)."""
    with _GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.RLock()
        return lock


def exclusive(fn: F) -> F:
    """Run `fn(model, ...)` while holding `model_lock(model)` (re-entrant: explainers call each other)."""

    @functools.wraps(fn)
    def wrapper(model: nn.Module, *args, **kwargs):
        with model_lock(model):
            return fn(model, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
