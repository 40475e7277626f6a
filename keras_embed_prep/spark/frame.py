"""The columns a Spark ML pipeline reads and writes, as symbolic tensors, and how stages register.

A Spark stage reads named columns and writes named columns. Inside the graph each column is a
:class:`Column`: a float64 ``(batch, 1)`` tensor for a number (``scalar``), a float64 ``(batch, n)``
tensor for a vector, a string ``(batch, 1)`` tensor for text. A stage's converter is registered in
the package's registry by its exact class (:func:`register_stage`); it receives the stage and a
:class:`Frame` of the columns written so far and returns the columns the stage writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from keras import ops

from ..converters._checks import refuse
from ..errors import NotFittedError, UnsupportedParameterError
from ..registry import register_converter

#: The kinds of a column inside the graph.
SCALAR, VECTOR, TEXT = "scalar", "vector", "text"


@dataclass(frozen=True)
class Column:
    """One Spark column in the graph: a 2-D tensor and its kind (scalar, vector or text)."""

    tensor: Any
    kind: str

    @property
    def width(self) -> int:
        return int(self.tensor.shape[-1])


class Frame(dict):
    """Column name -> :class:`Column`: what the stages so far have written (and the raw inputs)."""

    def read(self, stage: Any, name: str, kinds: Sequence[str]) -> Column:
        """Column ``name`` for ``stage``, refused by name when it is not of one of ``kinds``."""
        column = self[name]
        if column.kind not in kinds:
            raise UnsupportedParameterError(
                f"{type(stage).__name__} reads column {name!r} as {' or '.join(kinds)}, but it holds "
                f"{column.kind} values here. Feed it a column of the kind Spark expects."
            )
        return column

    def stacked(self, stage: Any, names: Sequence[str], kinds: Sequence[str]):
        """The ``names`` columns side by side as one ``(batch, k)`` tensor (scalars or text)."""
        tensors = [self.read(stage, name, kinds).tensor for name in names]
        return tensors[0] if len(tensors) == 1 else ops.concatenate(tensors, axis=1)


def _param(stage: Any, name: str):
    """The value of param ``name`` when the stage has it and it is set or has a default, else None."""
    if not stage.hasParam(name):
        return None
    param = stage.getParam(name)
    return stage.getOrDefault(param) if stage.isDefined(param) else None


def input_cols(stage: Any) -> list[str]:
    """The columns ``stage`` reads (``inputCols``, else ``inputCol``)."""
    many = _param(stage, "inputCols")
    if many:
        return list(many)
    one = _param(stage, "inputCol") or _param(stage, "featuresCol")  # selectors read featuresCol
    return [one] if one else []


def output_cols(stage: Any) -> list[str]:
    """The columns ``stage`` writes (``outputCols``, else ``outputCol``)."""
    many = _param(stage, "outputCols")
    if many:
        return list(many)
    one = _param(stage, "outputCol")
    return [one] if one else []


def param(stage: Any, name: str):
    """The value of a param of ``stage`` (its default when not set)."""
    return _param(stage, name)


def check_choice(stage: Any, name: str, allowed: tuple) -> Any:
    """The value of param ``name``, refused by name when it is not in ``allowed``."""
    value = _param(stage, name)
    if value not in allowed:
        raise refuse(stage, name, value, f"use one of {allowed}.")
    return value


def check_fitted(stage: Any) -> None:
    """Spark ML stages are fitted by construction (a Model comes from fit); an Estimator is not."""
    from pyspark.ml import Estimator

    if isinstance(stage, Estimator):
        raise NotFittedError(
            f"{type(stage).__name__} is a Spark ML Estimator, not a fitted model. Call "
            f"{type(stage).__name__}(...).fit(df) (or fit the Pipeline that holds it) and convert the "
            "model it returns."
        )


#: How a stage reads a raw column it is the first to read: ``reads(stage) -> kind`` where kind is
#: :data:`TEXT`, :data:`SCALAR` or a vector width (int). Stages without an entry read scalars.
RAW_KINDS: dict[type, Callable[[Any], Any]] = {}


def register_stage(cls: type, *, notes: str, reads: Callable[[Any], Any] | None = None):
    """Register ``converter(stage, frame) -> {output column: Column}`` for the Spark ML class ``cls``."""
    if reads is not None:
        RAW_KINDS[cls] = reads

    def decorator(fn):
        return register_converter(cls, notes=notes, check=check_fitted)(fn)

    return decorator


def split(tensor, names: Sequence[str], kind: str) -> dict[str, Column]:
    """A ``(batch, k)`` tensor as ``k`` one-wide columns named ``names``."""
    if len(names) == 1:
        return {names[0]: Column(tensor, kind)}
    return {name: Column(tensor[:, i : i + 1], kind) for i, name in enumerate(names)}
