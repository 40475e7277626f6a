"""Target decoders: ``embed(model, preprocessor, target=t)`` appends ``t``'s inverse.

A decoder is a function ``decoder(estimator, y) -> outputs`` registered for an exact class
with :func:`keras_embed_prep.registry.register_decoder`, in the same table as the converters.
``y`` is the Keras model's output; a regression decoder returns one tensor in original units,
a classification decoder returns ``{"probabilities": ..., "label": ...}``.
"""

from __future__ import annotations

from typing import Any

from ..errors import UnsupportedEstimatorError
from ..registry import check_fitted, decoder_for, supported_targets
from . import classification, regression, scikeras  # noqa: F401  (importing registers them)
from .scikeras import scikeras_target

__all__ = ["decode", "scikeras_target", "supported_targets"]


def decode(target: Any, y):
    """Append ``target``'s inverse to the model output ``y`` (float32, ``(batch, k)``)."""
    entry = decoder_for(target)
    if entry is None:
        raise UnsupportedEstimatorError(
            f"target={type(target).__name__} has no decoder. Supported targets: "
            f"{', '.join(sorted(supported_targets()))}."
        )
    if hasattr(target, "fit"):  # scikit-learn estimators; SciKeras' decoder is built fitted
        check_fitted(target, f"target {type(target).__name__} is not fitted. Fit it on y first.")
    return entry.converter(target, y)
