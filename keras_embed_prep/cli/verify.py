"""``keras-embed-prep verify``: the embedded model against scikit-learn + the original model on DATA."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

import numpy as np
import tensorflow as tf

from ..backend_run import BACKENDS
from ..blocks.checks import refusal_reason
from ..embed import model_input_width
from ..errors import FileFormatError, InputError, ShapeMismatchError
from ..inputs import required_columns
from ..io import load_keras_model, quote_error
from ..verify import (
    ATOL,
    RTOL,
    ParityReport,
    backend_note,
    compare,
    merge_reports,
    model_on,
    reference_output,
)
from .common import EXIT_OK, EXIT_PARITY_FAILED, load_preprocessor_file, print_error
from .data import DataFile, text_columns
from .served import PREDICT_BATCH, open_embedded

NAME = "verify"
LOADS_PREPROCESSOR = True
HELP = "check an embedded model against scikit-learn + the original model on DATA"
DESCRIPTION = (
    "Compare MODEL_OR_SAVEDMODEL with ORIGINAL_MODEL(PREPROCESSOR.transform(chunk)) for every "
    "chunk of DATA (.csv with a header row, or .parquet; streamed). Columns are matched by "
    "name for a preprocessor fitted on a DataFrame, by position for one fitted on an array."
)

#: Rows per chunk of DATA read at once.
DEFAULT_CHUNK_ROWS = 65536
#: ``--progress auto`` shows a bar (on a terminal) for DATA files at least this large.
_PROGRESS_MIN_BYTES = 16 * 2**20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL_OR_SAVEDMODEL", help="embedded .keras file or SavedModel dir")
    parser.add_argument("preprocessor", metavar="PREPROCESSOR", help="the fitted preprocessor (.skops)")
    parser.add_argument(
        "original_model", metavar="ORIGINAL_MODEL", help="the model without preprocessing (.keras)"
    )
    parser.add_argument("data", metavar="DATA", help="raw data: .csv (with header) or .parquet")
    parser.add_argument("--atol", type=float, default=ATOL, help="absolute tolerance (default: %(default)g)")
    parser.add_argument("--rtol", type=float, default=RTOL, help="relative tolerance (default: %(default)g)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (schema: docs/cli.md)")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=DEFAULT_CHUNK_ROWS,
        metavar="N",
        help="rows of DATA read at once (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="run the .keras MODEL on this Keras backend, in a subprocess per chunk (on JAX eagerly and "
        "under jax.jit; JAX_ENABLE_X64 as set here); default: as served, on TensorFlow",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="progress bar on stderr; auto: for files over 16 MiB, on a terminal (default: auto)",
    )


def run(args: argparse.Namespace) -> int:
    if args.chunk_rows < 1:
        raise InputError(f"--chunk-rows must be at least 1. Received {args.chunk_rows}.")
    if not (args.atol >= 0 and args.rtol >= 0):
        raise InputError(f"--atol and --rtol must be >= 0. Received {args.atol} and {args.rtol}.")
    preprocessor = load_preprocessor_file(args.preprocessor, args)
    original = load_keras_model(args.original_model, what="Original model")
    try:
        width = model_input_width(original)
    except ShapeMismatchError as exc:
        raise ShapeMismatchError(f"Original model {args.original_model!r}: {exc}") from exc
    embedded = open_embedded(args.model, preprocessor, args.backend)
    data = DataFile(args.data)
    columns = required_columns(preprocessor, data.columns, where=data.where)
    text = text_columns(embedded.layout, preprocessor, data)

    reports: dict[str, list[ParityReport]] = {}  # by run: "served", or "eager" and "jit" on a backend
    rows = 0
    with _progress(args, data) as bar:
        for chunk, progress in data.chunks(columns, args.chunk_rows, text):
            if len(chunk):  # a CSV with only a header yields one empty chunk
                X = chunk[columns] if columns is not None else chunk.to_numpy()
                try:
                    runs = embedded.runs(X) if args.backend else {"served": embedded.predict(X)}
                except tf.errors.OpError as exc:
                    # Where scikit-learn refuses these rows too, _reference raises InputError (exit 2).
                    _reference(preprocessor, original, width, X, rows)
                    print_error(
                        args.command,
                        f"parity FAILED: the embedded model refused DATA rows {rows}..{rows + len(X) - 1}, "
                        f"which scikit-learn transforms ({refusal_reason(exc) or quote_error(exc)}).",
                    )
                    return EXIT_PARITY_FAILED
                reference = _reference(preprocessor, original, width, X, rows)
                for run, ours in runs.items():
                    reports.setdefault(run, []).append(
                        compare(ours, reference, rtol=args.rtol, atol=args.atol)
                    )
                rows += len(chunk)
            bar.update(progress)
    if rows == 0:
        raise FileFormatError(f"DATA {args.data!r} has no rows. Pass a file with data rows to check.")
    merged = [merge_reports(parts) for parts in reports.values()]
    report = next((r for r in merged if not r.passed), merged[0])  # on a backend: the worse run
    if args.backend:
        report = dataclasses.replace(report, note=backend_note(args.backend, len(merged) > 1, embedded.x64))
    _print_report(args, report, len(next(iter(reports.values()))))
    return EXIT_OK if report.passed else EXIT_PARITY_FAILED


def _reference(preprocessor: Any, original: Any, width: int, X: Any, first_row: int) -> np.ndarray:
    """``original(preprocessor.transform(X))`` on the float32-rounded values a served model sees.

    scikit-learn's output stays sparse where it is sparse; the original model takes it in chunks
    of rows sized by its width (:func:`~keras_embed_prep.verify.row_chunks`), so a wide one-hot
    block is never dense for the whole chunk of DATA.
    """
    try:
        transformed = reference_output(preprocessor, X)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{type(preprocessor).__name__}.transform failed on DATA rows {first_row}.."
            f"{first_row + len(X) - 1} ({quote_error(exc)}). Fix those rows or pass the data the "
            "preprocessor expects."
        ) from exc
    if transformed.shape[1] != width:
        raise ShapeMismatchError(
            f"{type(preprocessor).__name__} outputs {transformed.shape[1]} columns but the original "
            f"model {original.name!r} expects {width}. Pass the preprocessor the model was trained behind."
        )
    return model_on(original, transformed, PREDICT_BATCH)


def _progress(args: argparse.Namespace, data: DataFile):
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


def _print_report(args: argparse.Namespace, report: ParityReport, chunks: int) -> None:
    """The merged report: JSON (schema in docs/cli.md) with the paths given, or text."""
    if args.json:
        result = report.to_dict()
        result.update(
            chunks=chunks,
            model=args.model,
            preprocessor=args.preprocessor,
            original_model=args.original_model,
            data=args.data,
        )
        print(json.dumps(result, indent=2))
    else:
        print(
            f"verify {args.model} against {args.original_model}({args.preprocessor}.transform(X)) "
            f"on {args.data} ({chunks} chunk{'s' if chunks != 1 else ''})"
        )
        print(report)
