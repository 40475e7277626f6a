"""SciKeras wrappers: the target decoder matching a fitted wrapper's own target encoding."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..converters._checks import refuse
from ..registry import register_decoder
from .classification import decoded_labels


class _SciKerasClassifierTarget:
    """What a fitted SciKeras KerasClassifier decodes: its ``classes_`` by argmax.

    SciKeras' ``predict`` turns one sigmoid column into ``[1 - p, p]`` before its
    argmax, which picks 1 exactly when ``p > 0.5``; several columns use argmax.
    """

    def __init__(self, wrapper):
        self.classes_ = np.asarray(wrapper.classes_)
        self.target_type_ = wrapper.target_type_


def scikeras_target(wrapper) -> Any:
    """The target decoder matching a fitted SciKeras wrapper's own target encoding, or None."""
    if hasattr(wrapper, "classes_"):
        if wrapper.target_type_ not in ("binary", "multiclass"):
            raise refuse(wrapper, "target_type_", wrapper.target_type_, "only binary and multiclass decode.")
        return _SciKerasClassifierTarget(wrapper)
    encoder = getattr(wrapper, "target_encoder_", None)
    if type(encoder).__name__ != "RegressorTargetEncoder":  # SciKeras' identity default
        raise refuse(
            wrapper,
            "target_encoder",
            type(encoder).__name__,
            "only KerasRegressor's default (identity) target encoding is decoded; pass target= explicitly.",
        )
    return None


@register_decoder(
    _SciKerasClassifierTarget, notes="SciKeras KerasClassifier: its classes_, as its predict()."
)
def decode_scikeras_classifier(estimator, y):
    return decoded_labels(y, estimator.classes_)
