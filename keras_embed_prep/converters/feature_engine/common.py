"""What every feature-engine converter shares: column kinds, missing masks, the output frame.

feature-engine transformers take a DataFrame and return one: the columns in ``variables_``
transformed in place, the others passed through unchanged, some columns appended or dropped.
feature-engine keeps no dtypes of the columns it does not transform, so their kind is
inferred: with ``variables=None`` the transformer picked every column of its kind, so the
others are of the other kind; with ``variables`` (or a dict of them) given they are taken as numbers (a text
column there makes ``to_inputs`` fail with a message naming it, never a silent difference).
"""

from __future__ import annotations

import numpy as np
from keras import ops

from keras_embed_prep.blocks import affine, checks, records
from keras_embed_prep.columns import MARKERS, Columns
from keras_embed_prep.errors import UnsupportedParameterError


def refuse(estimator, parameter: str, why: str) -> UnsupportedParameterError:
    value = getattr(estimator, parameter, None)
    return UnsupportedParameterError(
        f"{type(estimator).__name__}({parameter}={value!r}) is not supported: {why}"
    )


def kinds_for(variable_kind: str):
    """An ``input_kinds`` function: ``variable_kind`` for ``variables_``, the rule above for the rest."""
    other = {"text": "number", "number": "text"}[variable_kind]

    def input_kinds(estimator, n_columns: int) -> list[str]:
        if getattr(estimator, "ignore_format", False):
            raise refuse(estimator, "ignore_format", "encode text columns only (the default False).")
        variables = set(estimator.variables_)
        found = "variables" in estimator.get_params() and estimator.variables is None
        rest = other if found else "number"
        return [variable_kind if name in variables else rest for name in estimator.feature_names_in_]

    return input_kinds


def numbers_kinds(estimator, n_columns: int) -> list[str]:
    """Numbers for every column: the selectors and indicators that take any kind say nothing of kinds."""
    return ["number"] * n_columns


def variable_index(estimator, names=None) -> list[int]:
    columns = list(estimator.feature_names_in_)
    return [columns.index(v) for v in (estimator.variables_ if names is None else names)]


def numeric_variables(estimator, x):
    """``(columns, index, tensor)``: the raw columns, the positions of ``variables_``, their values."""
    columns = Columns.of(x)
    index = variable_index(estimator)
    if any(columns.kinds[i] != "number" for i in index):
        raise UnsupportedParameterError(
            f"{type(estimator).__name__} transforms numeric columns, but some of {estimator.variables_} "
            "arrive as text. Give it numeric columns only."
        )
    return columns, index, columns.select(index)


def missing(values):
    """Missing cells of a float64 tensor (NaN) or a text tensor (the four markers)."""
    if values.dtype == "string":
        hits = [ops.equal(values, m) for m in MARKERS]
        for hit in hits[1:]:
            hits[0] = ops.logical_or(hits[0], hit)
        return hits[0]
    return ops.isnan(values)


def fail_where(values, flags, reason: str):
    """``values`` plus zeros that fail inference where any of ``flags`` (per row) is true."""
    return ops.add(values, checks.fail_if_any(flags, reason))


def fail_not_finite(estimator, values):
    """feature-engine raises on NaN and infinity in the columns it transforms."""
    return fail_where(
        values,
        checks.any_not_finite(values),
        f"{type(estimator).__name__}: NaN or infinity in a transformed column",
    )


def output(columns: Columns, spec: list, new=None, new_text=None):
    """The output frame: ``spec`` lists, in output order, ``("in", i)`` for raw column ``i``
    unchanged, ``("new", j)`` for column ``j`` of the float64 tensor ``new`` and ``("text", j)``
    for column ``j`` of the string tensor ``new_text``.

    Returns a plain tensor when every output column is of one kind, else a ``Columns``.
    """
    n_numbers = 0 if columns.numbers is None else int(columns.numbers.shape[-1])
    n_text = 0 if columns.text is None else int(columns.text.shape[-1])
    kinds, numbers, text = [], [], []
    for source, i in spec:
        if source == "text":
            kinds.append("text")
            text.append(n_text + i)
        elif source == "new":
            kinds.append("number")
            numbers.append(n_numbers + i)
        elif columns.kinds[i] == "number":
            kinds.append("number")
            numbers.append(columns.slots[i])
        else:
            kinds.append("text")
            text.append(columns.slots[i])
    block = [b for b in (columns.numbers, new) if b is not None]
    number_block = affine.take_columns(records.concat(block), numbers) if numbers else None
    blocks = [b for b in (columns.text, new_text) if b is not None]
    text_block = (
        affine.take_columns(ops.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0], text)
        if text
        else None
    )
    return Columns(kinds, numbers=number_block, text=text_block).select(range(len(kinds)))


def replaced(columns: Columns, index: list[int], new):
    """The raw columns with columns ``index`` replaced, in place, by the columns of ``new``
    (float64 numbers, or text)."""
    at = {i: j for j, i in enumerate(index)}
    source = "text" if new.dtype == "string" else "new"
    spec = [(source, at[i]) if i in at else ("in", i) for i in range(len(columns))]
    return output(columns, spec, *((None, new) if source == "text" else (new,)))


def appended(columns: Columns, new, keep=None):
    """The raw columns (those in ``keep``, all by default), then the columns of ``new``."""
    keep = range(len(columns)) if keep is None else keep
    width = 0 if new is None else int(new.shape[-1])
    return output(columns, [("in", i) for i in keep] + [("new", j) for j in range(width)], new)


def per_column(values: dict, names: list[str]) -> np.ndarray:
    """``values[name]`` for each name (a dict of the fitted constants), float64."""
    return np.asarray([values[n] for n in names], dtype=np.float64)
