"""The ``keras-embed-prep`` command line: embed, verify, inspect, doctor, demo.

::

    keras-embed-prep embed model.keras preprocessor.skops -o full.keras [--savedmodel serving/1]
    keras-embed-prep verify full.keras preprocessor.skops model.keras data.csv [--json]
    keras-embed-prep verify serving/1 preprocessor.skops model.keras data.parquet
    keras-embed-prep inspect preprocessor.skops | full.keras | serving/1
    keras-embed-prep doctor model.keras data.csv [--preprocessor preprocessor.skops] [--json]
    keras-embed-prep demo [--out DIR]

Preprocessors are read from skops files (``skops.io.dump(preprocessor, "preprocessor.skops")``)
with an explicit list of trusted types; pickle/joblib files only with ``--allow-pickle``
(see :mod:`keras_embed_prep.io`). Models are read with ``safe_mode=True``.

``verify`` reads DATA (``.csv`` with a header row, or ``.parquet``) in chunks of
``--chunk-rows`` rows, so files larger than memory work. For a preprocessor fitted on a
DataFrame (``feature_names_in_`` set) the columns are matched by name and other columns
are ignored; for one fitted on a numpy array, DATA must hold exactly ``n_features_in_``
columns, in order. Each chunk is compared as served: the embedded model (a ``.keras``
file, or a SavedModel directory called through ``serving_default``) against
``original_model(preprocessor.transform(chunk))``, both on the float32-rounded values a
served model receives (:func:`keras_embed_prep.verify.as_served`). CSV columns that feed a
text input of the model are read as text ("007" stays "007"), empty cells as missing.
Rows that scikit-learn refuses (an unknown category with ``handle_unknown="error"``) are
bad input (exit 2); rows the embedded model refuses but scikit-learn transforms are a
parity failure (exit 1).

``doctor`` runs :func:`keras_embed_prep.diagnose` on the first ``--max-rows`` rows of DATA
(columns matched as for ``verify``; for a model with one input per column, by input name)
and prints where the model breaks, which inputs look unprepared, what a save/load changes,
and the fix. ``--json`` prints ``report.to_dict()`` (schema: :mod:`keras_embed_prep.diagnose`)
plus ``"model_path"``, ``"data_path"`` and ``"preprocessor_path"`` (null without one), the
paths given. A model whose custom classes are not registered needs ``--import MODULE`` (the
module that registers them; its code runs). Exit 0 when healthy, 1 when problems are found.

Exit codes
----------
0
    Success (for ``verify``: parity passed; ``inspect`` exits 0 whenever it could read PATH,
    whether or not everything converts: its report says what does not; ``doctor``: healthy).
1
    ``verify`` ran and parity failed: a value beyond tolerance, a NaN disagreement, or rows
    the embedded model refused although scikit-learn transforms them (one line on stderr).
    ``doctor`` ran and found problems (its report says which).
2
    Usage error or bad input: a missing, unreadable, corrupt, untrusted or wrong file, an
    unfitted or unsupported preprocessor, widths that do not line up, DATA missing columns.
    One line on stderr says what, and what to do; never a traceback.

``verify --json`` schema
------------------------
One JSON object on stdout::

    {
      "passed": bool,                # no NaN disagreement and no value beyond tolerance
      "rows": int,                   # rows checked
      "rtol": float, "atol": float,  # |ours - ref| <= atol + rtol * |ref|, elementwise
      "max_abs_error": float,        # over all output columns
      "max_rel_error": float,
      "columns": [                   # one per output column of the model
        {"column": str, "max_abs_error": float, "max_rel_error": float,
         "nan_mismatches": int, "violations": int}
      ],
      "chunks": int,                 # chunks of DATA read
      "model": str, "preprocessor": str, "original_model": str, "data": str   # the paths given
    }

Errors are not JSON: with ``--json`` they are still one line on stderr, and stdout is empty.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline

from . import __version__
from .doctor import diagnose_with_paths, unregistered_custom_objects
from .embed import embed, model_input_width
from .errors import FileFormatError, InputError, KerasEmbedPrepError, ShapeMismatchError
from .export import export, signature_keys
from .graph import keras_input_name, to_keras
from .inputs import to_inputs
from .io import (
    is_keras_file,
    is_saved_model,
    load_keras_model,
    load_preprocessor,
    load_saved_model,
    quote_error,
)
from .verify import ATOL, RTOL, as_served, compare, merge_reports

#: Exit codes.
EXIT_OK = 0
EXIT_PARITY_FAILED = 1
EXIT_BAD_INPUT = 2

#: Rows per chunk of DATA that ``verify`` reads at once.
DEFAULT_CHUNK_ROWS = 65536
#: Batch size of Keras ``predict`` calls.
_PREDICT_BATCH = 4096
#: ``--progress auto`` shows a bar (on a terminal) for DATA files at least this large.
_PROGRESS_MIN_BYTES = 16 * 2**20

_DATA_KINDS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

_EXIT_EPILOG = """\
exit status:
  0  success (verify: parity passed)
  1  verify: parity failed; doctor: problems found
  2  usage error or bad input (missing, corrupt, untrusted or wrong file; unfitted or
     unsupported preprocessor; DATA missing columns): one line on stderr says what to do"""


# --------------------------------------------------------------------------- loading


def _load_preprocessor(path: str, args: argparse.Namespace, *, require_fitted: bool = True) -> Any:
    return load_preprocessor(
        path, trusted=args.trust, allow_pickle=args.allow_pickle, require_fitted=require_fitted
    )


def _as_matrix(outputs: Any) -> np.ndarray:
    """Model outputs (one array, a list, or a dict ``output_0``, ...) as one float64 (rows, k) matrix."""
    if isinstance(outputs, dict):
        outputs = [outputs[key] for key in sorted(outputs, key=_output_order)]
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    parts = [np.asarray(out, dtype=np.float64) for out in outputs]
    parts = [part.reshape(part.shape[0], -1) for part in parts]
    return parts[0] if len(parts) == 1 else np.hstack(parts)


def _output_order(key: str) -> tuple[int, str]:
    suffix = key.rsplit("_", 1)[-1]
    return (int(suffix), key) if suffix.isdigit() else (sys.maxsize, key)


class _KerasServed:
    """The embedded model as a ``.keras`` file."""

    def __init__(self, model: Any) -> None:
        self.layout = model

    def predict(self, X: Any) -> np.ndarray:
        feeds = to_inputs(X, self.layout)
        return _as_matrix(self.layout.predict(feeds, batch_size=_PREDICT_BATCH, verbose=0))


class _SavedModelServed:
    """The embedded model as a SavedModel, called through ``serving_default``.

    A SavedModel keeps only the sanitized input keys, so the raw inputs are laid out
    as ``to_keras(preprocessor)`` lays them out (the inputs :func:`embed` gave the
    exported model) and fed under their :func:`signature_keys`.
    """

    def __init__(self, signature: Any, preprocessor: Any) -> None:
        self.signature = signature
        self.layout = to_keras(preprocessor)
        self.keys = signature_keys(self.layout)
        expected, actual = sorted(self.keys.values()), sorted(signature.inputs)
        if expected != actual:
            raise InputError(
                f"SavedModel {signature.path!r} takes inputs {actual[:8]}, but "
                f"{type(preprocessor).__name__} needs {expected[:8]}. Pass the SavedModel exported "
                "from the model embedded with this preprocessor."
            )

    def predict(self, X: Any) -> np.ndarray:
        feeds = to_inputs(X, self.layout)
        if not isinstance(feeds, dict):
            feeds = {self.layout.inputs[0].name: feeds}
        return _as_matrix(self.signature({self.keys[name]: value for name, value in feeds.items()}))


def _open_embedded(path: str, preprocessor: Any) -> _KerasServed | _SavedModelServed:
    if pathlib.Path(path).is_dir() or is_saved_model(path):
        return _SavedModelServed(load_saved_model(path, what="Embedded model"), preprocessor)
    return _KerasServed(load_keras_model(path, what="Embedded model"))


# --------------------------------------------------------------------------- data


class _Data:
    """DATA for ``verify``: a CSV or Parquet file read in chunks."""

    def __init__(self, path: str) -> None:
        self.path = pathlib.Path(path)
        if not self.path.exists():
            raise FileFormatError(f"DATA {path!r} does not exist. Check the path.")
        if self.path.is_dir():
            raise FileFormatError(f"DATA {path!r} is a directory; expected a .csv or .parquet file.")
        self.kind = _DATA_KINDS.get(self.path.suffix.lower())
        if self.kind is None:
            raise FileFormatError(
                f"DATA {path!r} has suffix {self.path.suffix!r}; expected .csv (with a header row) "
                "or .parquet. Convert the file, or rename it if it is one of these."
            )
        self.size = self.path.stat().st_size
        self.columns = self._read_columns()

    def _fail(self, exc: BaseException) -> FileFormatError:
        return FileFormatError(
            f"DATA {str(self.path)!r} could not be read as {self.kind.upper()} ({quote_error(exc)})."
        )

    def _read_columns(self) -> list[str]:
        try:
            if self.kind == "csv":
                return [str(c) for c in pd.read_csv(self.path, nrows=0).columns]
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetFile(self.path)
            return list(self._parquet.schema_arrow.names)
        except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas/pyarrow parse errors
            raise self._fail(exc) from exc

    @property
    def progress_total(self) -> tuple[int, str]:
        """The total of the progress bar and its unit: bytes for CSV, rows for Parquet."""
        if self.kind == "csv":
            return self.size, "B"
        return self._parquet.metadata.num_rows, "rows"

    def chunks(
        self, columns: list[str] | None, chunk_rows: int, text: list[str]
    ) -> Iterator[tuple[Any, int]]:
        """Yield ``(DataFrame chunk, progress made)``.

        ``columns=None`` reads all columns, in file order; CSV columns in ``text`` are read
        as text (missing as NaN) rather than parsed as numbers.
        """
        if self.kind == "csv":
            yield from self._csv_chunks(columns, chunk_rows, text)
        else:
            yield from self._parquet_chunks(columns, chunk_rows)

    def _csv_chunks(self, columns, chunk_rows, text):
        with open(self.path, "rb") as handle:
            dtype = dict.fromkeys(text, object) or None
            reader = pd.read_csv(handle, chunksize=chunk_rows, usecols=columns, dtype=dtype)
            done = 0
            while True:
                try:
                    chunk = next(reader)
                except StopIteration:
                    return
                except (ValueError, UnicodeDecodeError) as exc:  # pandas.errors.ParserError is a ValueError
                    raise self._fail(exc) from exc
                position = handle.tell()
                yield chunk, position - done
                done = position

    def _parquet_chunks(self, columns, chunk_rows):
        try:
            for batch in self._parquet.iter_batches(batch_size=chunk_rows, columns=columns):
                yield batch.to_pandas(), batch.num_rows
        except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
            raise self._fail(exc) from exc


def _text_columns(layout: Any, preprocessor: Any, data: _Data) -> list[str]:
    """DATA columns that feed string inputs: read as text, so "007" stays "007"."""
    string_inputs = {t.name for t in layout.inputs if t.dtype == "string"}
    if not string_inputs:
        return []
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is None:  # fitted on an array: its one input is all text
        return list(data.columns)
    return [str(c) for c in names if keras_input_name(c) in string_inputs]


def _select(preprocessor: Any, data: _Data) -> list[str] | None:
    """The DATA columns the preprocessor takes (by name), or None for all of them in order."""
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is not None:
        names = [str(c) for c in names]
        missing = [c for c in names if c not in set(data.columns)]
        if missing:
            shown = data.columns[:10] + (["..."] if len(data.columns) > 10 else [])
            raise InputError(
                f"DATA {str(data.path)!r} lacks columns {missing} that {type(preprocessor).__name__} "
                f"was fitted on. Received columns {shown}. Add them (columns are matched by name)."
            )
        return names
    n = getattr(preprocessor, "n_features_in_", None)
    if n is not None and len(data.columns) != int(n):
        raise InputError(
            f"DATA {str(data.path)!r} has {len(data.columns)} columns, but "
            f"{type(preprocessor).__name__} was fitted on a numpy array of {int(n)} columns. "
            f"DATA must hold exactly these {int(n)} columns, in the order used for fitting."
        )
    return None


def _reference(preprocessor: Any, original: Any, width: int, X: Any, first_row: int) -> np.ndarray:
    """``original(preprocessor.transform(X))`` on the float32-rounded values a served model sees."""
    try:
        transformed = preprocessor.transform(as_served(X))
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{type(preprocessor).__name__}.transform failed on DATA rows {first_row}.."
            f"{first_row + len(X) - 1} ({quote_error(exc)}). Fix those rows or pass the data the "
            "preprocessor expects."
        ) from exc
    if hasattr(transformed, "toarray"):
        transformed = transformed.toarray()
    transformed = np.asarray(transformed, dtype=np.float32)
    if transformed.shape[1] != width:
        raise ShapeMismatchError(
            f"{type(preprocessor).__name__} outputs {transformed.shape[1]} columns but the original "
            f"model {original.name!r} expects {width}. Pass the preprocessor the model was trained behind."
        )
    return _as_matrix(original.predict(transformed, batch_size=_PREDICT_BATCH, verbose=0))


def _model_refusal(exc: BaseException) -> str:
    """Why a converted model refused its input: the reason its in-graph check carries, if any."""
    match = re.search(r'found OOV values \[\\*"([^"\\]+)', str(exc))
    return match.group(1) if match else quote_error(exc)


def _progress(args: argparse.Namespace, data: _Data):
    from tqdm import tqdm

    total, unit = data.progress_total
    if args.progress == "on":
        disable = False
    elif args.progress == "off" or data.size < _PROGRESS_MIN_BYTES:
        disable = True
    else:
        disable = None  # tqdm: shown only when stderr is a terminal
    return tqdm(
        total=total,
        unit=unit,
        unit_scale=True,
        file=sys.stderr,
        disable=disable,
        desc=f"verify {data.path.name}",
        leave=False,
    )


# --------------------------------------------------------------------------- commands


def _cmd_embed(args: argparse.Namespace) -> int:
    out = pathlib.Path(args.output)
    if out.suffix != ".keras":
        raise FileFormatError(
            f"-o {args.output!r}: the output file must end in .keras (the format Keras writes and "
            "loads with safe_mode=True). Use e.g. -o model_with_preprocessing.keras."
        )
    model = load_keras_model(args.model)
    preprocessor = _load_preprocessor(args.preprocessor, args)
    target = _load_preprocessor(args.target, args) if args.target else None
    full = embed(model, preprocessor, target=target)
    full.save(out)
    names = [t.name for t in full.inputs]
    print(f"wrote {out}: {len(names)} raw input(s) {names[:8]}{' ...' if len(names) > 8 else ''}")
    if args.savedmodel:
        export(full, args.savedmodel)
        keys = signature_keys(full)
        renamed = {name: key for name, key in keys.items() if name != key}
        print(
            f"wrote {args.savedmodel}: serving_default takes {len(keys)} input(s)"
            + (f"; renamed keys {renamed}" if renamed else "")
        )
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    if args.chunk_rows < 1:
        raise InputError(f"--chunk-rows must be at least 1. Received {args.chunk_rows}.")
    if not (args.atol >= 0 and args.rtol >= 0):
        raise InputError(f"--atol and --rtol must be >= 0. Received {args.atol} and {args.rtol}.")
    preprocessor = _load_preprocessor(args.preprocessor, args)
    original = load_keras_model(args.original_model, what="Original model")
    try:
        width = model_input_width(original)
    except ShapeMismatchError as exc:
        raise ShapeMismatchError(f"Original model {args.original_model!r}: {exc}") from exc
    embedded = _open_embedded(args.model, preprocessor)
    data = _Data(args.data)
    columns = _select(preprocessor, data)
    text = _text_columns(embedded.layout, preprocessor, data)

    reports, rows = [], 0
    with _progress(args, data) as bar:
        for chunk, progress in data.chunks(columns, args.chunk_rows, text):
            if len(chunk):  # a CSV with only a header yields one empty chunk
                X = chunk[columns] if columns is not None else chunk.to_numpy()
                try:
                    ours = embedded.predict(X)
                except tf.errors.OpError as exc:
                    # Where scikit-learn refuses these rows too, _reference raises InputError (exit 2).
                    _reference(preprocessor, original, width, X, rows)
                    _error(
                        args.command,
                        f"parity FAILED: the embedded model refused DATA rows {rows}..{rows + len(X) - 1}, "
                        f"which scikit-learn transforms ({_model_refusal(exc)}).",
                    )
                    return EXIT_PARITY_FAILED
                reference = _reference(preprocessor, original, width, X, rows)
                reports.append(compare(ours, reference, rtol=args.rtol, atol=args.atol))
                rows += len(chunk)
            bar.update(progress)
    if rows == 0:
        raise FileFormatError(f"DATA {args.data!r} has no rows. Pass a file with data rows to check.")
    report = merge_reports(reports)
    if args.json:
        result = report.to_dict()
        result.update(
            chunks=len(reports),
            model=args.model,
            preprocessor=args.preprocessor,
            original_model=args.original_model,
            data=args.data,
        )
        print(json.dumps(result, indent=2))
    else:
        print(
            f"verify {args.model} against {args.original_model}({args.preprocessor}.transform(X)) "
            f"on {args.data} ({len(reports)} chunk{'s' if len(reports) != 1 else ''})"
        )
        print(report)
    return EXIT_OK if report.passed else EXIT_PARITY_FAILED


def _walk(estimator: Any, label: str, depth: int = 0) -> Iterator[tuple[int, str, Any]]:
    """``(depth, label, estimator)`` for ``estimator`` and, recursively, its steps."""
    yield depth, label, estimator
    if isinstance(estimator, Pipeline):
        children = estimator.steps
    elif isinstance(estimator, ColumnTransformer):
        fitted = getattr(estimator, "transformers_", None)
        children = [(name, step) for name, step, _ in (fitted or estimator.transformers)]
    elif isinstance(estimator, FeatureUnion):
        children = estimator.transformer_list
    else:
        return
    for name, step in children:
        yield from _walk(step, f"{name} ({_class_name(step)})", depth + 1)


def _class_name(estimator: Any) -> str:
    return estimator if isinstance(estimator, str) else type(estimator).__name__


def _verdict(estimator: Any) -> tuple[bool | None, str]:
    """``(True, "n -> k columns")``, ``(False, why not)``, or ``(None, ...)`` for a skipped step."""
    if estimator is None or isinstance(estimator, str):  # "passthrough", "drop"
        return None, str(estimator)
    try:
        model = to_keras(estimator)
    except KerasEmbedPrepError as exc:
        return False, " ".join(str(exc).split())
    n_in = sum(int(t.shape[-1]) if len(t.shape) == 2 else 1 for t in model.inputs)
    return True, f"{n_in} -> {int(model.outputs[0].shape[-1])} columns"


def _inspect_preprocessor(path: str, args: argparse.Namespace) -> int:
    preprocessor = _load_preprocessor(path, args, require_fitted=False)
    names = getattr(preprocessor, "feature_names_in_", None)
    n = getattr(preprocessor, "n_features_in_", None)
    if names is not None:
        fitted_on = f"fitted on a DataFrame with {len(names)} columns {[str(c) for c in names]}"
    elif n is not None:
        fitted_on = f"fitted on a numpy array of {int(n)} columns"
    else:
        fitted_on = "not fitted"
    print(f"{path}: {type(preprocessor).__module__}.{type(preprocessor).__name__}, {fitted_on}")

    steps = _walk(preprocessor, _class_name(preprocessor))
    rows = [(depth, label, *_verdict(est)) for depth, label, est in steps]
    width = max(len("  " * depth + label) for depth, label, _, _ in rows)
    for i, (depth, label, ok, why) in enumerate(rows):
        name = "  " * depth + label
        if ok is None:
            print(f"  {name:<{width}}  skipped ({why})")
        elif ok:
            print(f"  {name:<{width}}  converts ({why})")
        else:
            print(f"  {name:<{width}}  does not convert")
            below = []
            for sub_depth, _, _, sub_why in rows[i + 1 :]:
                if sub_depth <= depth:
                    break
                below.append(sub_why)
            if why in below:  # a composite fails with the error of one of its steps
                why = "because of a step below"
            print(textwrap.fill(why, width=100, initial_indent=" " * 6, subsequent_indent=" " * 6))
    ok, why = rows[0][2], rows[0][3]
    print(f"embeddable: yes ({why})" if ok else "embeddable: no (see above)")
    return EXIT_OK


def _inspect_keras(path: str) -> int:
    model = load_keras_model(path)
    keys = signature_keys(model)
    print(f"{path}: Keras model {model.name!r}")
    print(f"inputs ({len(model.inputs)}):  name -> serving_default key, dtype, shape")
    for t in model.inputs:
        print(f"  {t.name!r} -> {keys[t.name]!r}  {t.dtype}  {tuple(t.shape)}")
    # a symbolic call returns the output structure: named outputs (e.g. decoded targets'
    # 'probabilities' and 'label') keep their names, as in the SavedModel signature
    outputs = model(model.inputs if len(model.inputs) > 1 else model.inputs[0])
    if not isinstance(outputs, dict):
        outputs = {f"output_{i}": t for i, t in enumerate(keras.tree.flatten(outputs))}
    print(f"outputs ({len(outputs)}):")
    for name, t in outputs.items():
        print(f"  {name}  {t.dtype}  {tuple(t.shape)}")
    return EXIT_OK


def _inspect_saved_model(path: str) -> int:
    signature = load_saved_model(path)
    print(f"{path}: TensorFlow SavedModel, signature serving_default")
    print(
        f"inputs ({len(signature.inputs)}):  key, dtype, shape (keys are input names, sanitized: "
        "see keras_embed_prep.signature_keys)"
    )
    for key, spec in sorted(signature.inputs.items()):
        print(f"  {key!r}  {spec.dtype.name}  {tuple(spec.shape)}")
    print(f"outputs ({len(signature.outputs)}):")
    for key in sorted(signature.outputs, key=_output_order):
        spec = signature.outputs[key]
        print(f"  {key}  {spec.dtype.name}  {tuple(spec.shape)}")
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    path = pathlib.Path(args.path)
    if is_saved_model(path):
        return _inspect_saved_model(args.path)
    if path.is_dir():
        raise FileFormatError(
            f"{args.path!r} is a directory but not a SavedModel (no saved_model.pb). Pass a "
            "preprocessor file, a .keras file or a SavedModel directory."
        )
    if is_keras_file(path):
        return _inspect_keras(args.path)
    return _inspect_preprocessor(args.path, args)


def _doctor_model(path: str, modules: list[str]) -> Any:
    """Load MODEL for ``doctor``: import ``--import`` modules, then name any custom class still missing."""
    import importlib

    if modules and str(pathlib.Path.cwd()) not in sys.path:
        sys.path.insert(0, str(pathlib.Path.cwd()))
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # an imported module can raise anything
            raise InputError(
                f"--import {module}: the module could not be imported ({quote_error(exc)})."
            ) from exc
    if is_keras_file(path) and (missing := unregistered_custom_objects(path)):
        raise FileFormatError(
            f"Model {path!r} needs custom classes {missing} that are not registered in this process. "
            "Pass --import MODULE for the module that defines them (with "
            "@keras.saving.register_keras_serializable), or call keras_embed_prep.diagnose in Python."
        )
    return load_keras_model(path)


def _cmd_doctor(args: argparse.Namespace) -> int:
    if args.max_rows < 1:
        raise InputError(f"--max-rows must be at least 1. Received {args.max_rows}.")
    model = _doctor_model(args.model, args.imports)
    preprocessor = _load_preprocessor(args.preprocessor, args) if args.preprocessor else None
    data = _Data(args.data)
    columns, text = None, []
    if preprocessor is not None:
        columns = _select(preprocessor, data)
        try:
            text = _text_columns(to_keras(preprocessor), preprocessor, data)
        except KerasEmbedPrepError:  # diagnose says why it does not convert
            text = []
    elif len(model.inputs) > 1 or len(model.inputs[0].shape) != 2:
        by_name = {keras_input_name(c): c for c in data.columns}
        missing = [t.name for t in model.inputs if t.name not in by_name]
        if missing:
            raise InputError(
                f"DATA {args.data!r} lacks columns {missing} that model {args.model!r} takes. Received "
                f"columns {data.columns[:10]}. Add them (columns are matched by name)."
            )
        columns = [by_name[t.name] for t in model.inputs]
        text = [by_name[t.name] for t in model.inputs if t.dtype == "string"]
    chunks = data.chunks(columns, args.max_rows, text)
    try:
        chunk = next((c for c, _ in chunks), None)
    finally:
        chunks.close()  # only the first chunk is read: release the file now
    if chunk is None or not len(chunk):
        raise FileFormatError(f"DATA {args.data!r} has no rows. Pass a file with rows to diagnose.")
    X = chunk.to_numpy() if preprocessor is not None and columns is None else chunk
    options = "".join(f" --trust {name}" for name in args.trust) + (
        " --allow-pickle" if args.allow_pickle else ""
    )
    report = diagnose_with_paths(
        model,
        X,
        preprocessor,
        None,
        model_path=args.model,
        preprocessor_path=args.preprocessor,
        load_options=options,
    )
    if args.json:
        result = report.to_dict()
        result.update(model_path=args.model, data_path=args.data, preprocessor_path=args.preprocessor)
        print(json.dumps(result, indent=2))
    else:
        print(report)
    return EXIT_OK if report.healthy else EXIT_PARITY_FAILED


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import main as demo_main

    return demo_main(["--out", args.out] if args.out else [])


# --------------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="keras-embed-prep",
        description="Fitted scikit-learn preprocessing as Keras layers inside the model.",
        epilog=_EXIT_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    loading = argparse.ArgumentParser(add_help=False)
    loading.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="TYPE",
        help="trust this type when loading a skops file (repeatable); the refusal message lists "
        "the types a file needs",
    )
    loading.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load .pkl/.pickle/.joblib preprocessors; unpickling runs arbitrary code, so only "
        "for files you made yourself",
    )

    def add(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            parents=[loading] if name != "demo" else [],
            help=help,
            description=description,
            epilog=_EXIT_EPILOG,
            formatter_class=formatter,
        )

    embed = add(
        "embed",
        "prepend a preprocessor to a Keras model; write .keras (and a SavedModel)",
        "Load MODEL (.keras, trained on PREPROCESSOR.transform(X)) and PREPROCESSOR (.skops), "
        "write OUT: one .keras model that takes raw data.",
    )
    embed.add_argument("model", metavar="MODEL", help="the trained Keras model (.keras)")
    embed.add_argument("preprocessor", metavar="PREPROCESSOR", help="the fitted preprocessor (.skops)")
    embed.add_argument("-o", "--output", required=True, metavar="OUT", help="the .keras file to write")
    embed.add_argument("--savedmodel", metavar="DIR", help="also export a TensorFlow SavedModel to DIR")
    embed.add_argument(
        "--target",
        metavar="T",
        help="a fitted target transformer (.skops): regression outputs come back in original units, "
        "classifiers output 'probabilities' and decoded 'label'",
    )
    embed.set_defaults(run=_cmd_embed)

    verify = add(
        "verify",
        "check an embedded model against scikit-learn + the original model on DATA",
        "Compare MODEL_OR_SAVEDMODEL with ORIGINAL_MODEL(PREPROCESSOR.transform(chunk)) for every "
        "chunk of DATA (.csv with a header row, or .parquet; streamed). Columns are matched by "
        "name for a preprocessor fitted on a DataFrame, by position for one fitted on an array.",
    )
    verify.add_argument("model", metavar="MODEL_OR_SAVEDMODEL", help="embedded .keras file or SavedModel dir")
    verify.add_argument("preprocessor", metavar="PREPROCESSOR", help="the fitted preprocessor (.skops)")
    verify.add_argument(
        "original_model", metavar="ORIGINAL_MODEL", help="the model without preprocessing (.keras)"
    )
    verify.add_argument("data", metavar="DATA", help="raw data: .csv (with header) or .parquet")
    verify.add_argument("--atol", type=float, default=ATOL, help="absolute tolerance (default: %(default)g)")
    verify.add_argument("--rtol", type=float, default=RTOL, help="relative tolerance (default: %(default)g)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON (schema: module docs)")
    verify.add_argument(
        "--chunk-rows",
        type=int,
        default=DEFAULT_CHUNK_ROWS,
        metavar="N",
        help="rows of DATA read at once (default: %(default)s)",
    )
    verify.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="progress bar on stderr; auto: for files over 16 MiB, on a terminal (default: auto)",
    )
    verify.set_defaults(run=_cmd_verify)

    inspect = add(
        "inspect",
        "what converts in a preprocessor; the inputs and outputs of a model",
        "For a preprocessor file: whether it and each of its steps convert, and why not. For a "
        ".keras model or a SavedModel directory: its raw inputs (names, serving_default keys, "
        "dtypes, shapes) and outputs.",
    )
    inspect.add_argument("path", metavar="PATH", help="preprocessor file, .keras file or SavedModel dir")
    inspect.set_defaults(run=_cmd_inspect)

    doctor = add(
        "doctor",
        "explain why a model predicts NaN or nonsense on DATA, and print the fix",
        "Run MODEL (.keras) layer by layer on the first rows of DATA (.csv with a header row, or "
        ".parquet): the first layer that outputs NaN/Inf (or blows up) and the rows and columns "
        "that lead there; inputs that look unprepared (against the statistics of PREPROCESSOR, or "
        "those embedded in MODEL); what a .keras save/load changes; and the fix (the embed command, "
        "with the parity it reaches on DATA). Exit 0 when healthy, 1 when problems are found.",
    )
    doctor.add_argument("model", metavar="MODEL", help="the Keras model as served (.keras)")
    doctor.add_argument("data", metavar="DATA", help="raw rows: .csv (with header) or .parquet")
    doctor.add_argument(
        "--preprocessor", metavar="P", help="the fitted preprocessor the model was trained behind (.skops)"
    )
    doctor.add_argument(
        "--json", action="store_true", help="print the report as JSON (schema: docs/doctor.md)"
    )
    doctor.add_argument(
        "--max-rows",
        type=int,
        default=10000,
        metavar="N",
        help="rows of DATA to diagnose (default: %(default)s)",
    )
    doctor.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first, to register the model's custom classes (runs its code; repeatable)",
    )
    doctor.set_defaults(run=_cmd_doctor)

    demo = add(
        "demo",
        "the NaN-after-load story and its fix, on scikit-learn's breast-cancer data",
        "Run keras_embed_prep.demo: train, ship without the scaler, embed, reload, verify.",
    )
    demo.add_argument("--out", metavar="DIR", help="directory for the artifacts (default: demo_output)")
    demo.set_defaults(run=_cmd_demo)
    return parser


def _error(command: str | None, message: str) -> None:
    prefix = f"keras-embed-prep {command}" if command else "keras-embed-prep"
    print(f"{prefix}: error: {' '.join(message.split())}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit code: 0 success, 1 parity failed (``verify``), 2 usage error or bad input.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return args.run(args)
    except KerasEmbedPrepError as exc:
        _error(args.command, str(exc))
    except OSError as exc:  # unreadable or unwritable paths
        where = f"{exc.filename}: " if exc.filename else ""
        _error(args.command, f"{where}{exc.strerror or exc}")
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
