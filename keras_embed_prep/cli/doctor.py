"""``keras-embed-prep doctor``: why a model predicts NaN or nonsense on DATA, and the fix."""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import sys
from typing import Any

from ..convert import to_keras
from ..doctor import diagnose_with_paths, unregistered_custom_objects
from ..errors import FileFormatError, InputError, KerasEmbedPrepError
from ..inputs import keras_input_name, required_columns
from ..io import is_keras_file, load_keras_model, quote_error
from .common import EXIT_OK, EXIT_PARITY_FAILED, load_preprocessor_file
from .data import DataFile, text_columns

NAME = "doctor"
LOADS_PREPROCESSOR = True
HELP = "explain why a model predicts NaN or nonsense on DATA, and print the fix"
DESCRIPTION = (
    "Run MODEL (.keras) layer by layer on the first rows of DATA (.csv with a header row, or "
    ".parquet): the first layer that outputs NaN/Inf (or blows up) and the rows and columns "
    "that lead there; inputs that look unprepared (against the statistics of PREPROCESSOR, or "
    "those embedded in MODEL); what a .keras save/load changes; and the fix (the embed command, "
    "with the parity it reaches on DATA). Exit 0 when healthy, 1 when problems are found."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="the Keras model as served (.keras)")
    parser.add_argument("data", metavar="DATA", help="raw rows: .csv (with header) or .parquet")
    parser.add_argument(
        "--preprocessor", metavar="P", help="the fitted preprocessor the model was trained behind (.skops)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (schema: docs/doctor.md)"
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=10000,
        metavar="N",
        help="rows of DATA to diagnose (default: %(default)s)",
    )
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first, to register the model's custom classes (runs its code; repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    if args.max_rows < 1:
        raise InputError(f"--max-rows must be at least 1. Received {args.max_rows}.")
    model = _load_model(args.model, args.imports)
    preprocessor = load_preprocessor_file(args.preprocessor, args) if args.preprocessor else None
    data = DataFile(args.data)
    if preprocessor is not None:
        columns, text = _preprocessor_columns(preprocessor, data)
    else:
        columns, text = _model_columns(model, data, args)
    chunk = data.first_chunk(columns, args.max_rows, text)
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


def _load_model(path: str, modules: list[str]) -> Any:
    """Load MODEL: import ``--import`` modules, then name any custom class still missing."""
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


def _preprocessor_columns(preprocessor: Any, data: DataFile) -> tuple[list[str] | None, list[str]]:
    """``(columns, text columns)`` to read for a preprocessor: as ``verify`` reads them."""
    columns = required_columns(preprocessor, data.columns, where=data.where)
    try:
        return columns, text_columns(to_keras(preprocessor), preprocessor, data)
    except KerasEmbedPrepError:  # diagnose says why it does not convert
        return columns, []


def _model_columns(
    model: Any, data: DataFile, args: argparse.Namespace
) -> tuple[list[str] | None, list[str]]:
    """``(columns, text columns)`` for a model without a preprocessor: by input name, one per column."""
    if len(model.inputs) <= 1 and len(model.inputs[0].shape) == 2:  # one matrix input: all columns
        return None, []
    by_name = {keras_input_name(c): c for c in data.columns}
    missing = [t.name for t in model.inputs if t.name not in by_name]
    if missing:
        raise InputError(
            f"DATA {args.data!r} lacks columns {missing} that model {args.model!r} takes. Received "
            f"columns {data.columns[:10]}. Add them (columns are matched by name)."
        )
    columns = [by_name[t.name] for t in model.inputs]
    return columns, [by_name[t.name] for t in model.inputs if t.dtype == "string"]
