"""``keras-embed-prep embed``: prepend a preprocessor to a Keras model, write .keras (and a SavedModel)."""

from __future__ import annotations

import argparse
import pathlib

from ..embed import embed
from ..errors import FileFormatError
from ..export import export, signature_keys
from ..io import load_keras_model
from .common import EXIT_OK, load_preprocessor_file

NAME = "embed"
LOADS_PREPROCESSOR = True
HELP = "prepend a preprocessor to a Keras model; write .keras (and a SavedModel)"
DESCRIPTION = (
    "Load MODEL (.keras, trained on PREPROCESSOR.transform(X)) and PREPROCESSOR (.skops), "
    "write OUT: one .keras model that takes raw data."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="the trained Keras model (.keras)")
    parser.add_argument("preprocessor", metavar="PREPROCESSOR", help="the fitted preprocessor (.skops)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="the .keras file to write")
    parser.add_argument("--savedmodel", metavar="DIR", help="also export a TensorFlow SavedModel to DIR")
    parser.add_argument(
        "--target",
        metavar="T",
        help="a fitted target transformer (.skops): regression outputs come back in original units, "
        "classifiers output 'probabilities' and decoded 'label'",
    )
    parser.add_argument(
        "--checks",
        choices=("raise", "nan"),
        default="raise",
        help="rows the preprocessor refuses (unknown category, box-cox on x <= 0, ...): raise fails the "
        "call (TensorFlow only); nan makes those rows NaN and loads on JAX and PyTorch too "
        "(default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    out = pathlib.Path(args.output)
    if out.suffix != ".keras":
        raise FileFormatError(
            f"-o {args.output!r}: the output file must end in .keras (the format Keras writes and "
            "loads with safe_mode=True). Use e.g. -o model_with_preprocessing.keras."
        )
    model = load_keras_model(args.model)
    preprocessor = load_preprocessor_file(args.preprocessor, args)
    target = load_preprocessor_file(args.target, args) if args.target else None
    full = embed(model, preprocessor, target=target, checks=args.checks)
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
