"""The fix for a preprocessor the model does not embed: the ``embed(...)`` call and command for the
files given, and the parity the embedded, saved and reloaded model reaches on the rows."""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from dataclasses import dataclass
from typing import Any

import keras

from ..embed import embed
from ..errors import KerasEmbedPrepError
from ..inputs import to_inputs
from ..verify import verify
from .data import bad_rows
from .report import Fix
from .trace import predict, refusal

#: The file name the fix writes.
FIXED_NAME = "model_with_preprocessing.keras"


@dataclass(frozen=True)
class Paths:
    """The files the command line read (and its loading flags, e.g. ``" --allow-pickle"``), for the fix."""

    model: str | None = None
    preprocessor: str | None = None
    load_options: str = ""


def embed_fix(model: keras.Model, preprocessor: Any, X: Any, paths: Paths) -> Fix:
    """The embed call and command, checked: embedded, saved, reloaded with ``safe_mode=True``, verified."""
    fix = _commands(paths)
    try:
        full = embed(model, preprocessor)
    except KerasEmbedPrepError as exc:
        fix.error = f"embed fails: {' '.join(str(exc).split())}"
        return fix
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, FIXED_NAME)
        try:
            full.save(path)
            reloaded = keras.saving.load_model(path, safe_mode=True)
            parity = verify(preprocessor, reloaded, X, model=model)
            result = predict(reloaded, to_inputs(X, reloaded), len(X))
        except Exception as exc:  # noqa: BLE001 - saving, loading and checking can fail in many ways
            fix.error = f"the embedded model could not be checked ({refusal(exc)})"
            return fix
    summary = parity.to_dict()
    fix.parity = {
        "passed": summary["passed"],
        "rows": summary["rows"],
        "max_abs_error": summary["max_abs_error"],
        "max_rel_error": summary["max_rel_error"],
        "nan_mismatches": int(parity.nan_mismatches.sum()),
        "violations": int(parity.violations.sum()),
    }
    fix.nonfinite_rows = int(bad_rows(result, len(X)).sum())
    return fix


def _commands(paths: Paths) -> Fix:
    """The Python call and the command line, with the real file names where the command line gave them."""
    if paths.model is None or paths.preprocessor is None:
        out = FIXED_NAME
        return Fix(
            python=(
                f"from keras_embed_prep import embed\nfull = embed(model, preprocessor)\nfull.save({out!r})"
            ),
            cli=f"keras-embed-prep embed MODEL.keras PREPROCESSOR.skops -o {out}",
        )
    stem = os.path.splitext(os.path.basename(paths.model))[0]
    out = os.path.join(os.path.dirname(paths.model), f"{stem}_with_preprocessing.keras")
    cli = (
        f"keras-embed-prep embed {shlex.quote(paths.model)} {shlex.quote(paths.preprocessor)} "
        f"-o {shlex.quote(out)}{paths.load_options}"
    )
    options = ""
    if "--allow-pickle" in paths.load_options:
        options += ", allow_pickle=True"
    trusted = re.findall(r"--trust (\S+)", paths.load_options)
    if trusted:
        options += f", trusted={trusted!r}"
    python = (
        "from keras_embed_prep import embed\n"
        "from keras_embed_prep.io import load_keras_model, load_preprocessor\n"
        f"full = embed(load_keras_model({paths.model!r}), "
        f"load_preprocessor({paths.preprocessor!r}{options}))\n"
        f"full.save({out!r})"
    )
    return Fix(python=python, cli=cli)
