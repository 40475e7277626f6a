"""``keras-embed-prep inspect``: what converts in a preprocessor; the inputs and outputs of a model."""

from __future__ import annotations

import argparse
import json
import pathlib
import textwrap
from collections.abc import Iterator
from typing import Any

import keras
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline

from ..convert import to_keras
from ..errors import FileFormatError, KerasEmbedPrepError, MissingDependencyError
from ..export import signature_keys
from ..export.savedmodel import STAGES_FILE
from ..io import is_keras_file, is_saved_model, load_keras_model, load_saved_model
from ..outputs import named_outputs, output_order
from ..walk import plot, stages
from .common import EXIT_OK, load_preprocessor_file

NAME = "inspect"
LOADS_PREPROCESSOR = True
HELP = "what converts in a preprocessor; the inputs and outputs of a model"
DESCRIPTION = (
    "For a preprocessor file: whether it and each of its steps convert, and why not. For a "
    ".keras model or a SavedModel directory: its raw inputs (names, serving_default keys, "
    "dtypes, shapes), outputs, and stages (one per scikit-learn step, with the columns each "
    "reads and its output widths); --plot draws a .keras model."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="preprocessor file, .keras file or SavedModel dir")
    parser.add_argument(
        "--plot",
        metavar="PNG",
        help="for a .keras file: also draw the model's stages to this image (pydot and Graphviz)",
    )


def run(args: argparse.Namespace) -> int:
    path = pathlib.Path(args.path)
    if getattr(args, "plot", None) and not is_keras_file(path):
        raise FileFormatError(
            f"--plot draws a .keras model; {args.path!r} is not a .keras file. A SavedModel keeps "
            "no layers to draw: plot the .keras file it was exported from."
        )
    if is_saved_model(path):
        return _inspect_saved_model(args.path)
    if path.is_dir():
        raise FileFormatError(
            f"{args.path!r} is a directory but not a SavedModel (no saved_model.pb). Pass a "
            "preprocessor file, a .keras file or a SavedModel directory."
        )
    if is_keras_file(path):
        return _inspect_keras(args.path, getattr(args, "plot", None))
    return _inspect_preprocessor(args.path, args)


# --------------------------------------------------------------------------- preprocessor


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


def _fitted_on(preprocessor: Any) -> str:
    names = getattr(preprocessor, "feature_names_in_", None)
    n = getattr(preprocessor, "n_features_in_", None)
    if names is not None:
        return f"fitted on a DataFrame with {len(names)} columns {[str(c) for c in names]}"
    if n is not None:
        return f"fitted on a numpy array of {int(n)} columns"
    return "not fitted"


def _inspect_preprocessor(path: str, args: argparse.Namespace) -> int:
    preprocessor = load_preprocessor_file(path, args, require_fitted=False)
    print(
        f"{path}: {type(preprocessor).__module__}.{type(preprocessor).__name__}, {_fitted_on(preprocessor)}"
    )
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


# --------------------------------------------------------------------------- models


def _print_stages(found: list[dict]) -> None:
    if not found:
        return
    print(
        f"stages ({len(found)}):  name <- input columns -> output widths "
        "(int: one-hot positions; ?: a bag of terms, as wide as its longest row)"
    )
    for stage in found:
        columns = ", ".join(repr(c) for c in stage["inputs"])
        widths = [
            f"{'?' if w is None else w} {d}" for w, d in zip(stage["widths"], stage["dtypes"], strict=True)
        ]
        print(f"  {stage['name']}  <- {columns}  -> {', '.join(widths)}")


def _plot(model: keras.Model, to: str) -> None:
    try:
        plot(model, to)
    except ImportError as exc:  # pydot or Graphviz missing
        raise MissingDependencyError(
            f"--plot {to!r} needs pydot (pip install pydot) and Graphviz's dot program. {exc}"
        ) from exc
    print(f"plot: {to}")


def _inspect_keras(path: str, plot: str | None = None) -> int:
    model = load_keras_model(path)
    keys = signature_keys(model)
    print(f"{path}: Keras model {model.name!r}")
    print(f"inputs ({len(model.inputs)}):  name -> serving_default key, dtype, shape")
    for t in model.inputs:
        print(f"  {t.name!r} -> {keys[t.name]!r}  {t.dtype}  {tuple(t.shape)}")
    # a symbolic call returns the output structure: named outputs (e.g. decoded targets'
    # 'probabilities' and 'label') keep their names, as in the SavedModel signature
    outputs = model(model.inputs if len(model.inputs) > 1 else model.inputs[0])
    outputs = named_outputs(outputs if isinstance(outputs, dict) else keras.tree.flatten(outputs))
    print(f"outputs ({len(outputs)}):")
    for name, t in outputs.items():
        print(f"  {name}  {t.dtype}  {tuple(t.shape)}")
    _print_stages(stages(model))
    if plot:
        _plot(model, plot)
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
    for key in sorted(signature.outputs, key=output_order):
        spec = signature.outputs[key]
        print(f"  {key}  {spec.dtype.name}  {tuple(spec.shape)}")
    stages_file = pathlib.Path(path) / STAGES_FILE
    if stages_file.is_file():
        _print_stages(json.loads(stages_file.read_text()))
    return EXIT_OK
