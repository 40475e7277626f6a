"""Scoring a Spark DataFrame with an exported model on the executors: :func:`predict`.

On the driver, from the model's signature and the DataFrame's schema alone (no job runs), the
columns are matched to the model's inputs by name, as :func:`keras_embed_prep.to_inputs` matches a
pandas DataFrame, and checked for kind. On the executors, ``mapInArrow`` streams Arrow batches
through the model, which each executor Python worker loads once (:data:`_SERVED`); nulls in text
columns become :data:`~keras_embed_prep.columns.MISSING`, nulls in numbers NaN.
"""

from __future__ import annotations

import functools
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..columns import MISSING
from ..errors import FileFormatError, InputError
from ..export.signatures import key_of
from ..inputs import keras_input_name

#: ``(kind, path, stamp) -> callable(feeds) -> {output name: tensor}``, per executor Python worker.
_SERVED: dict[tuple[str, str, tuple[int, ...]], Any] = {}

#: The same key -> the model's ``(inputs, outputs)`` signature, on the driver (read by :func:`predict`).
_SIGNATURES: dict[tuple[str, str, tuple[int, ...]], tuple[dict, dict]] = {}


@dataclass(frozen=True)
class Port:
    """One input or output of the served model: its name there, its column, its dtype, its width."""

    name: str
    column: str
    dtype: str
    #: None: one value per row; k: ``(rows, k)`` values.
    width: int | None


@dataclass(frozen=True)
class Plan:
    """What an executor needs to score a batch (plain data: it travels with the job)."""

    kind: str  # "saved_model" or "keras"
    path: str
    #: The model file's size and mtime when the plan was made: a model written again to the same
    #: path is loaded again by workers that keep the old one.
    stamp: tuple[int, ...]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    batch_size: int


def _width(shape) -> int | None:
    dims = list(shape)
    if len(dims) <= 1 or (len(dims) == 2 and dims[1] == 1):
        return None
    return int(dims[-1]) if len(dims) == 2 else -1


def _model_kind(path: str) -> str:
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "saved_model.pb")):
        return "saved_model"
    if os.path.isfile(path) and path.endswith(".keras") and zipfile.is_zipfile(path):
        return "keras"
    raise FileFormatError(
        f"spark.predict: {path!r} is not a model: neither a SavedModel directory (with saved_model.pb, "
        "as keras_embed_prep.export writes it) nor a .keras file. Pass the path of an exported model."
    )


def _stamp(kind: str, path: str) -> tuple[int, ...]:
    files = [os.path.join(path, "saved_model.pb"), os.path.join(path, "variables", "variables.index")]
    stamp: list[int] = []
    for name in files if kind == "saved_model" else [path]:
        if os.path.exists(name):
            info = os.stat(name)
            stamp += [info.st_size, info.st_mtime_ns]
    return tuple(stamp)


def _forget_older(cache: dict, key: tuple) -> None:
    """Drop what ``cache`` holds for the model at ``key``'s path under another stamp (a model written
    again there): a long-lived worker keeps one model per path, not every version it has seen."""
    for old in [k for k in cache if k[:2] == key[:2]]:
        del cache[old]


def _load(kind: str, path: str):
    """``(call(feeds) -> {name: tensor}, inputs {name: (dtype, shape)}, outputs {name: (dtype, shape)})``."""
    import tensorflow as tf

    from ..export.signatures import call
    from ..outputs import named_outputs

    try:
        if kind == "saved_model":
            fn = tf.saved_model.load(path).signatures["serving_default"]
            inputs = {k: (s.dtype.name, tuple(s.shape)) for k, s in fn.structured_input_signature[1].items()}
            outputs = {k: (s.dtype.name, tuple(s.shape)) for k, s in fn.structured_outputs.items()}
            return (lambda feeds: fn(**feeds)), inputs, outputs
        import keras

        model = keras.saving.load_model(path)
    except (OSError, ValueError, KeyError, tf.errors.OpError) as exc:
        raise FileFormatError(f"spark.predict: the model at {path!r} does not load: {exc}") from exc
    # Traced once over the input specs: a Keras output's symbolic dtype can be wrong (an inverted
    # StringLookup reports int64), the traced graph's is what the model returns.
    specs = {t.name: tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in model.inputs}

    def serve(feeds):
        return named_outputs(call(model, feeds))

    fn = tf.function(serve, autograph=False).get_concrete_function(specs)
    inputs = {name: (spec.dtype.name, tuple(spec.shape)) for name, spec in specs.items()}
    outputs = {k: (t.dtype.name, tuple(t.shape)) for k, t in fn.structured_outputs.items()}
    return fn, inputs, outputs


def _is_kind(data_type, dtype: str) -> bool:
    from pyspark.sql.types import BooleanType, NumericType, StringType

    if dtype == "string":
        return isinstance(data_type, StringType)
    return isinstance(data_type, (NumericType, BooleanType))


def _plan(df, path: str, batch_size: int, outputs) -> Plan:
    kind = _model_kind(path)
    key = (kind, os.path.abspath(path), _stamp(kind, path))
    if key not in _SIGNATURES:
        _forget_older(_SIGNATURES, key)
        _SIGNATURES[key] = _load(kind, path)[1:]
    inputs, outs = _SIGNATURES[key]
    by_key = {
        (key_of(keras_input_name(f.name)) if kind == "saved_model" else keras_input_name(f.name)): f
        for f in df.schema.fields
    }
    missing = [name for name in inputs if name not in by_key]
    if missing:
        raise InputError(
            f"spark.predict: the model at {path!r} needs columns {missing} that the DataFrame lacks. "
            f"Received columns {df.columns}. Columns are matched by name, as to_inputs matches them."
        )
    ports = []
    for name, (dtype, shape) in inputs.items():
        field = by_key[name]
        if _width(shape) is not None or not _is_kind(field.dataType, dtype):
            wanted = "a string column" if dtype == "string" else "a numeric column"
            raise InputError(
                f"spark.predict: column {field.name!r} must be {wanted} (the model input is {dtype} "
                f"of shape {shape}). Received {field.dataType.simpleString()}. Cast it first."
            )
        ports.append(Port(name, field.name, dtype, None))
    wanted = list(outs) if outputs is None else list(outputs)
    unknown = [o for o in wanted if o not in outs]
    clashing = [o for o in wanted if o in df.columns]
    if unknown or clashing:
        raise InputError(
            f"spark.predict(outputs={outputs!r}): the model's outputs are {list(outs)}"
            + (f"; {unknown} are not among them" if unknown else "")
            + (f"; {clashing} are already columns of the DataFrame" if clashing else "")
            + ". Pick outputs by name, or rename the columns."
        )
    out_ports = tuple(Port(o, o, outs[o][0], _width(outs[o][1])) for o in wanted)
    return Plan(*key, tuple(ports), out_ports, int(batch_size))


def _spark_type(port: Port):
    from pyspark.sql.types import ArrayType, DoubleType, FloatType, LongType, StringType

    element = {"string": StringType(), "float32": FloatType(), "float64": DoubleType()}.get(
        port.dtype, LongType()
    )
    return element if port.width is None else ArrayType(element, containsNull=False)


def predict(df, model_path: str | os.PathLike, *, batch_size: int = 4096, outputs: list[str] | None = None):
    """``df`` with the outputs of the model at ``model_path`` appended as columns, scored on the executors.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Raw rows: one column per model input, matched by name (as :func:`keras_embed_prep.to_inputs`
        matches a pandas DataFrame); other columns pass through.
    model_path : str or path-like
        A SavedModel directory written by :func:`keras_embed_prep.export`, or a ``.keras`` file,
        readable at the same path on every executor.
    batch_size : int
        Rows per model call (at most: an Arrow batch of Spark's
        ``spark.sql.execution.arrow.maxRecordsPerBatch`` rows, 10,000 by default, is cut into
        calls of this many). A call costs a fixed overhead of about a millisecond, so calls of
        a few thousand rows cost half as much per row as calls of a thousand.
    outputs : list of str, optional
        The model outputs to append (default: all), each as a column of its name: text (decoded
        labels) as strings, one value per row as a float, several (probabilities) as an array.

    Raises
    ------
    FileFormatError
        ``model_path`` is not a model.
    InputError
        A column is missing or of the wrong kind, or an output is unknown or clashes with a column.
        Raised on the driver, before any job runs. A row the model refuses (an unknown category
        where the fitted preprocessing raises) fails the job with the column named.
    """
    from pyspark.sql.types import StructField, StructType

    plan = _plan(df, os.fspath(model_path), batch_size, outputs)
    fields = [StructField(p.column, _spark_type(p), nullable=False) for p in plan.outputs]
    return df.mapInArrow(functools.partial(score_batches, plan), StructType(df.schema.fields + fields))


def _feed(array, port: Port):
    import numpy as np
    import pyarrow as pa
    import tensorflow as tf

    if port.dtype == "string":
        return _strings(array)
    return tf.constant(array.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float32))


def _strings(array):
    """A string tensor of an Arrow text column (null: MISSING), cut out of its data buffer in one op.

    ``tf.constant`` of the column's ``to_numpy`` makes a Python string per row first, which costs
    more than the model call: here the values buffer becomes one scalar and ``tf.strings.substr``
    cuts it at the Arrow offsets.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import tensorflow as tf

    column = pc.fill_null(array.cast(pa.large_string()), MISSING)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    _, offsets, data = column.buffers()
    ends = np.frombuffer(offsets, np.int64, len(column) + 1, column.offset * 8)
    start, stop = int(ends[0]), int(ends[-1])
    values = tf.constant(b"" if data is None else data[start:stop].to_pybytes())
    return tf.strings.substr(values, ends[:-1] - start, np.diff(ends))


def _arrow(tensor, port: Port):
    import numpy as np
    import pyarrow as pa

    values = np.asarray(tensor)
    if port.dtype == "string":
        return pa.array([v.decode("utf-8") for v in values.reshape(-1).tolist()], pa.string())
    if port.width is None:
        return pa.array(values.reshape(-1))
    rows, k = values.shape[0], int(np.prod(values.shape[1:]))
    offsets = pa.array(np.arange(0, rows * k + 1, k, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1)))


def _task_threads() -> None:
    """Size this worker's TensorFlow thread pools to one task's cores, before TensorFlow first runs.

    Spark gives each Python worker ``OMP_NUM_THREADS`` = ``spark.task.cpus`` (1 by default; a user's
    ``spark.executorEnv.OMP_NUM_THREADS`` wins). TensorFlow ignores it and starts pools as wide as
    the machine in every worker: ``local[2]`` ran four threads on two cores, and was slower than
    ``local[1]``.
    """
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if not threads.isdigit() or int(threads) < 1:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))
    except RuntimeError:  # TensorFlow already ran in this worker: its pools are fixed
        pass


def score_batches(plan: Plan, batches: Iterator) -> Iterator:
    """What each executor runs: the model (loaded once per worker) on Arrow batches of rows."""
    import pyarrow as pa
    import tensorflow as tf

    from ..blocks.checks import refusal_reason

    key = (plan.kind, plan.path, plan.stamp)
    for batch in batches:
        if batch.num_rows and key not in _SERVED:  # an empty partition loads nothing
            if not _SERVED:
                _task_threads()
            _forget_older(_SERVED, key)
            _SERVED[key] = _load(plan.kind, plan.path)[0]
        serve = _SERVED.get(key)
        for start in range(0, batch.num_rows, plan.batch_size):
            chunk = batch.slice(start, plan.batch_size)
            feeds = {p.name: _feed(chunk.column(p.column), p) for p in plan.inputs}
            try:
                result = serve(feeds)
            except tf.errors.InvalidArgumentError as exc:
                reason = refusal_reason(exc)
                if reason is None:
                    raise
                raise InputError(f"spark.predict: a row is refused: {reason}.") from None
            columns = [_arrow(result[p.name], p) for p in plan.outputs]
            yield pa.RecordBatch.from_arrays(
                chunk.columns + columns, names=chunk.schema.names + [p.column for p in plan.outputs]
            )
