"""Refusals shared by converters: one message shape for every unsupported option."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UnsupportedParameterError


def refuse(estimator: Any, parameter: str, received: Any, why: str) -> UnsupportedParameterError:
    """An error that names the class, the parameter, the value received and what to do."""
    return UnsupportedParameterError(
        f"{type(estimator).__name__}({parameter}={received!r}) is not supported: {why}"
    )


def exact_in_float32(estimator: Any, parameter: str, value: float) -> None:
    """Refuse a numeric constant that float32 inputs cannot equal exactly.

    Converted models take float32 inputs, so ``x == 0.1`` can never hold for the
    float64 constant 0.1; comparing against it would silently differ.
    """
    if np.isnan(value):
        return
    if float(np.float32(value)) != float(value):
        raise refuse(
            estimator,
            parameter,
            value,
            "converted models take float32 inputs, which can never equal this value exactly. "
            "Use a value representable in float32 (an integer, or e.g. -1.0, 0.5).",
        )


def check_choice(estimator: Any, parameter: str, allowed: tuple) -> None:
    """Refuse a string option outside ``allowed`` (a value a newer scikit-learn may add)."""
    value = getattr(estimator, parameter)
    if value not in allowed:
        raise refuse(estimator, parameter, value, f"use one of {allowed}.")
