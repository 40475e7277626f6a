"""A model's outputs as the callers see them: named signature outputs and one (rows, k) matrix."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


def named_outputs(outputs: Any) -> dict:
    """Signature outputs: a model's dict as is, else ``output_0``, ``output_1``, ..."""
    if isinstance(outputs, (list, tuple)):
        return {f"output_{i}": out for i, out in enumerate(outputs)}
    if isinstance(outputs, dict):
        return dict(outputs)
    return {"output_0": outputs}


def output_order(key: str) -> tuple[int, str]:
    """Sort key of signature output names: ``output_2`` before ``output_10``, named ones last."""
    suffix = key.rsplit("_", 1)[-1]
    return (int(suffix), key) if suffix.isdigit() else (sys.maxsize, key)


def output_matrix(outputs: Any) -> np.ndarray:
    """Model outputs (one array, a list, or a dict of them) as one float64 ``(rows, k)`` matrix."""
    if isinstance(outputs, dict):
        outputs = [outputs[key] for key in sorted(outputs, key=output_order)]
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    parts = [np.asarray(out, dtype=np.float64) for out in outputs]
    parts = [part.reshape(part.shape[0], -1) for part in parts]
    return parts[0] if len(parts) == 1 else np.hstack(parts)
