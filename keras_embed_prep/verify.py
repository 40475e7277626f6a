"""``verify``: the parity report of a converted model against scikit-learn itself."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any

import keras
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .blocks.checks import refusal_reason
from .errors import InputError
from .inputs import to_inputs
from .parity import ATOL, RTOL, ParityReport, compare, merge_reports  # noqa: F401  (verify's public names)

#: Values (rows x output columns) densified and compared at once. ``verify`` streams rows in chunks of
#: about this many values, so a wide output (a one-hot block of 200,000 categories) is never dense whole.
CHUNK_VALUES = 2**23


def as_served(X: Any) -> Any:
    """``X`` with numeric values rounded to float32, the values a converted model receives."""
    if isinstance(X, pd.DataFrame):
        out = X.copy()
        for name in out.columns:
            if pd.api.types.is_float_dtype(out[name]) or pd.api.types.is_integer_dtype(out[name]):
                out[name] = (
                    out[name]
                    .to_numpy(dtype=np.float64, na_value=np.nan)
                    .astype(np.float32)
                    .astype(np.float64)
                )
        return out
    array = np.asarray(X)
    if array.dtype.kind in "fiu":
        return array.astype(np.float32).astype(np.float64)
    return array


def reference_output(preprocessor: Any, X: Any) -> np.ndarray | sp.csr_matrix:
    """``preprocessor.transform`` on the float32-rounded rows a served model sees, float64.

    Sparse output stays sparse (CSR), so a wide one-hot block costs its nonzeros only;
    :func:`dense_rows` densifies a chunk of it.
    """
    out = preprocessor.transform(as_served(X))
    if sp.issparse(out):
        return sp.csr_matrix(out, dtype=np.float64)
    return np.asarray(out, dtype=np.float64)


def reference_transform(preprocessor: Any, X: Any) -> np.ndarray:
    """``preprocessor.transform`` on the float32-rounded rows a served model sees, dense float64."""
    return dense_rows(reference_output(preprocessor, X), slice(None))


def dense_rows(matrix: np.ndarray | sp.spmatrix, rows: slice, dtype: Any = np.float64) -> np.ndarray:
    """Rows ``rows`` of a dense or sparse 2-D matrix, as a dense array of ``dtype``."""
    part = matrix[rows]
    if sp.issparse(part):
        return part.astype(dtype, copy=False).toarray()
    return np.asarray(part, dtype=dtype)


def model_on(model: keras.Model, transformed: np.ndarray | sp.spmatrix, batch_size: int = 4096) -> np.ndarray:
    """``model`` on scikit-learn's output ``transformed`` (dense or sparse), as one output matrix.

    The rows go in as float32 (the input a Keras model takes), in chunks sized by the width
    (:func:`row_chunks`), so a wide sparse one-hot block is never dense for all rows at once.
    """
    from .outputs import output_matrix

    parts = [
        output_matrix(model.predict_on_batch(dense_rows(transformed, rows, np.float32)))
        for rows in row_chunks(transformed.shape[0], transformed.shape[1], batch_size)
    ]
    return np.concatenate(parts)


def row_chunks(n_rows: int, width: int, batch_size: int = 4096) -> list[slice]:
    """Slices of ``n_rows`` rows, each at most ``batch_size`` rows and about :data:`CHUNK_VALUES`
    values at ``width`` columns (at least one row; one empty slice for no rows)."""
    step = max(1, min(batch_size, CHUNK_VALUES // max(1, width)))
    return [slice(start, start + step) for start in range(0, max(n_rows, 1), step)]


def _take(feeds: Any, rows: slice) -> Any:
    """Rows ``rows`` of what :func:`to_inputs` returned (an array, a tensor, or a dict of them)."""
    if isinstance(feeds, dict):
        return {name: value[rows] for name, value in feeds.items()}
    return feeds[rows]


def _output_width(keras_model: keras.Model) -> int:
    """The widest output of ``keras_model`` (1 where unknown)."""
    widths = [int(t.shape[-1]) if len(t.shape) > 1 and t.shape[-1] else 1 for t in keras_model.outputs]
    return max(widths, default=1)


def _predicted(keras_model: keras.Model, feeds: Any, batch_size: int | None = None) -> Any:
    """``keras_model.predict`` (one batch without ``batch_size``), with a refusal of its
    inference-time checks said as what it means."""
    try:
        if batch_size is None:
            return keras_model.predict_on_batch(feeds)
        return keras_model.predict(feeds, batch_size=batch_size, verbose=0)
    except Exception as exc:  # TensorFlow's InvalidArgumentError, wrapped by Keras on other paths
        reason = refusal_reason(exc)
        if reason is None:
            raise
        raise InputError(
            f"Model {keras_model.name!r} refuses some rows of X, where scikit-learn raises too: {reason}. "
            "Pass rows the fitted preprocessor accepts."
        ) from exc


def verify(
    preprocessor: Any,
    keras_model: keras.Model,
    X: Any,
    *,
    model: keras.Model | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
    batch_size: int = 4096,
    backend: str | None = None,
) -> ParityReport:
    """Check a converted model against scikit-learn on data ``X``.

    Without ``model``, ``keras_model`` is the output of :func:`to_keras` and is
    compared with ``preprocessor.transform(X)``. With ``model`` (the original Keras
    model), ``keras_model`` is the output of :func:`embed` and is compared with
    ``model(preprocessor.transform(X))``.

    Both sides see the same values: converted models take float32 inputs, so the
    reference is computed on ``X`` rounded to float32 (see :func:`as_served`).

    Rows are compared in chunks of at most ``batch_size`` rows and about
    :data:`CHUNK_VALUES` output values, against scikit-learn's output kept sparse
    where it is sparse: memory stays bounded on wide one-hot outputs, and the
    report is the same as for one comparison of all rows.

    With ``backend`` (``"jax"``, ``"torch"``, ``"tensorflow"``), ``keras_model`` (a model or
    the path of a ``.keras`` file) is saved and run in a subprocess on that Keras backend
    (on JAX eagerly and under ``jax.jit``, with ``JAX_ENABLE_X64`` as set in this
    environment), and the worse of those runs is reported. With ``model`` too, the reference
    is ``model(preprocessor.transform(X))`` computed here; all of ``X`` goes to the
    subprocess at once (pass a sample).

    Where scikit-learn's ``transform`` refuses some rows of ``X`` (an unknown category, box-cox
    on x <= 0, ...), a model built with ``checks="nan"`` must answer those rows with NaN in every
    output (the report's note counts them) and meet the rule on the others; a model built with
    ``checks="raise"`` raises ``InputError`` with the reason.

    Returns
    -------
    ParityReport
        ``report.passed``, per-column errors, ``str(report)`` prints a table.

    Raises
    ------
    InputError
        With ``backend``: the model does not load or run there (text inputs and
        inference-time checks built with ``checks="raise"`` need TensorFlow; the error names the
        checks), or it has more than one output.
    """
    if backend is not None:
        return _verify_on_backend(preprocessor, keras_model, X, backend, model, rtol, atol)
    feeds = to_inputs(X, keras_model)
    try:
        reference = reference_output(preprocessor, X)
    except (ValueError, TypeError):
        _predicted(keras_model, feeds, batch_size)  # where the model refuses the rows too, say why
        refused = refused_rows(preprocessor, X)
        if not refused.any():
            raise
        return _verify_with_nan_rows(preprocessor, keras_model, X, refused, model, rtol, atol, batch_size)
    n_rows, width = reference.shape
    columns = None
    if model is None and hasattr(preprocessor, "get_feature_names_out"):
        try:
            columns = [str(c) for c in preprocessor.get_feature_names_out()]
        except (AttributeError, TypeError, ValueError):  # names are cosmetic; some steps have none
            columns = None
    check = None
    if model is not None:
        from .network_parity import NetworkCheck  # imports verify's compare: loaded when used

        check = NetworkCheck(preprocessor, keras_model, model, width)
    report = None
    for rows in row_chunks(n_rows, max(width, _output_width(keras_model)), batch_size):
        chunk = _take(feeds, rows)
        ours = _predicted(keras_model, chunk)
        if check is not None:  # the user's model on scikit-learn's boundary (float64: compared strictly)
            part = check(chunk, ours, dense_rows(reference, rows), rtol, atol)
        else:  # float32: what compare rounds scikit-learn's output to
            expected = dense_rows(reference, rows, np.float32)
            part = compare(ours, expected, rtol=rtol, atol=atol, columns=columns)
        # Merged as it goes: one report per chunk kept until the end would cost chunks x columns.
        report = part if report is None else merge_reports([report, part])
    return report


def _rows(X: Any, mask: np.ndarray) -> Any:
    return X[mask] if isinstance(X, pd.DataFrame) else np.asarray(X)[mask]


def refused_rows(preprocessor: Any, X: Any) -> np.ndarray:
    """Bool per row of ``X``: scikit-learn's ``transform`` raises on that row alone."""
    refused = []
    for i in range(len(X)):
        try:
            reference_output(preprocessor, X.iloc[i : i + 1] if isinstance(X, pd.DataFrame) else X[i : i + 1])
            refused.append(False)
        except (ValueError, TypeError):
            refused.append(True)
    return np.asarray(refused, dtype=bool)


def _verify_with_nan_rows(preprocessor, keras_model, X, refused, model, rtol, atol, batch_size):
    """:func:`verify` where scikit-learn refuses the rows ``refused`` and the model answered them
    (``checks="nan"``): those rows must be NaN in every output, the others meet the parity rule."""
    from .outputs import output_matrix

    report = (
        verify(
            preprocessor,
            keras_model,
            _rows(X, ~refused),
            model=model,
            rtol=rtol,
            atol=atol,
            batch_size=batch_size,
        )
        if (~refused).any()
        else None
    )
    answered = output_matrix(_predicted(keras_model, to_inputs(_rows(X, refused), keras_model)))
    not_nan = np.flatnonzero(~np.isnan(answered).all(axis=1))
    rows = np.flatnonzero(refused)
    note = f"{len(rows)} rows scikit-learn refuses (first: {rows[:5].tolist()}) "
    if not_nan.size:
        note += f"came out as numbers, not NaN (first: {rows[not_nan][:5].tolist()}): a silent answer"
        base = report or compare(answered[:0], answered[:0])
        nan_fail = np.asarray(base.nan_mismatches).copy()
        nan_fail[...] = np.maximum(nan_fail, not_nan.size)
        return dataclasses.replace(base, nan_mismatches=nan_fail, note=note)
    note += 'came out NaN in every output, as checks="nan" makes them'
    if report is None:
        return dataclasses.replace(compare(answered, answered), note=note)
    return dataclasses.replace(report, note=f"{report.note}; {note}" if report.note else note)


def _verify_on_backend(preprocessor, keras_model, X, backend, model, rtol, atol) -> ParityReport:
    """:func:`verify` of ``keras_model`` run on Keras backend ``backend`` in a subprocess."""
    from .backend_run import BACKENDS, one_output, refuse_checks_off_tensorflow, run_or_refuse

    if backend not in BACKENDS:
        raise InputError(f"verify(backend=...) must be one of {BACKENDS}. Received {backend!r}.")
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(keras_model, (str, os.PathLike)):
            path = keras_model
            keras_model = keras.saving.load_model(path, safe_mode=True)
        else:
            path = os.path.join(tmp, "model.keras")
            keras_model.save(path)
        one_output(keras_model, "Model")
        what, otherwise = f"Model {keras_model.name!r}", "run this model with KERAS_BACKEND=tensorflow"
        refuse_checks_off_tensorflow(keras_model, backend, what, otherwise)
        run = run_or_refuse(path, to_inputs(X, keras_model), backend, what, otherwise)
    if model is None:  # to_keras: scikit-learn's output, float32 as the model computes it
        reference = reference_transform(preprocessor, X).astype(np.float32)
    else:  # embed: the original model on scikit-learn's output, here on TensorFlow
        reference = model_on(model, reference_output(preprocessor, X))
    runs = [run[mode] for mode in ("eager", "jit") if run[mode] is not None]
    reports = [compare(ours, reference, rtol=rtol, atol=atol) for ours in runs]
    report = next((r for r in reports if not r.passed), reports[0])
    return dataclasses.replace(report, note=backend_note(backend, len(reports) > 1, run["x64"]))


def backend_note(backend: str, jit: bool, x64: bool | None) -> str:
    """The note of a report of a model run on another Keras backend (which runs, whether JAX had float64)."""
    note = f"run on the {backend} backend" + (" (eager and under jax.jit)" if jit else "")
    if x64 is False:
        note += "; JAX_ENABLE_X64 is unset, so JAX computed the float64 steps in float32"
    return note
