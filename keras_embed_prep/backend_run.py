"""A saved ``.keras`` file run on another Keras backend, in a subprocess (``verify(..., backend=)``).

:func:`run_on_backend` starts this file as a script with ``KERAS_BACKEND`` set: the script
imports Keras and numpy only (not this package, which needs TensorFlow), loads the model
with ``safe_mode=True``, calls it on the saved inputs (on JAX also under ``jax.jit``) and
writes the outputs, or the error, back. What it runs is what a user of that backend gets.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

#: Keras backends :func:`run_on_backend` can start.
BACKENDS = ("tensorflow", "jax", "torch")


def one_output(model: Any, what: str) -> None:
    """Refuse a model with several outputs (a target decoder's label and probabilities): the
    backend run compares one output matrix."""
    from .errors import InputError  # here: this file also runs as a script, outside the package

    if len(model.outputs) != 1:
        names = [t.name for t in model.outputs]
        raise InputError(
            f"{what} {model.name!r} has {len(names)} outputs {names[:4]}; a run on another backend "
            "compares one. Check the model without its target decoder (embed without target=), or "
            "leave out the backend to verify it on TensorFlow."
        )


def refuse_checks_off_tensorflow(model: Any, backend: str, what: str, otherwise: str) -> None:
    """Refuse to run on JAX or PyTorch a model whose inference-time checks raise (``checks="raise"``,
    two ``StringLookup`` layers that need TensorFlow), naming the checks and what to do."""
    from .blocks.checks import check_reasons  # here: this file also runs as a script
    from .errors import InputError

    reasons = check_reasons(model)
    if backend == "tensorflow" or not reasons:
        return
    listed = "; ".join(dict.fromkeys(reasons.values()))
    raise InputError(
        f"{what} holds {len(reasons)} inference-time check(s) built with checks='raise', which raise "
        f"through StringLookup layers and so load on TensorFlow only, not on {backend}: {listed[:600]}. "
        "Rebuild it with to_keras(..., checks='nan') or embed(..., checks='nan') (rows scikit-learn "
        f"refuses then come out NaN, on every backend), serve the SavedModel (export), or {otherwise}."
    )


def run_or_refuse(model_path: str | os.PathLike, feeds: Any, backend: str, what: str, otherwise: str) -> dict:
    """:func:`run_on_backend`, raising ``InputError`` (naming ``what``, the error and what to do,
    ending with ``otherwise``) where the model does not load or run on ``backend``."""
    from .errors import InputError  # here: this file also runs as a script, outside the package

    run = run_on_backend(model_path, feeds, backend)
    if run["error"] is not None:
        raise InputError(
            f"{what} does not run on the {backend} backend: {run['error'][:600]} Text inputs and "
            f"inference-time checks (StringLookup) need TensorFlow: serve the SavedModel (export), or "
            f"{otherwise}."
        )
    return run


def run_on_backend(model_path: str | os.PathLike, feeds: Any, backend: str) -> dict[str, Any]:
    """Outputs of the ``.keras`` file at ``model_path`` on ``backend``, called on ``feeds``.

    Returns ``{"eager": array, "jit": array or None, "x64": bool or None, "error": str or None}``:
    ``error`` is what loading or calling raised there (a model that needs TensorFlow on JAX),
    ``x64`` whether JAX computed float64 (``JAX_ENABLE_X64``, taken from this environment).
    """
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        feeds = {k: np.asarray(v) for k, v in feeds.items()} if isinstance(feeds, dict) else feeds
        if isinstance(feeds, dict):
            np.savez(tmp / "inputs.npz", **feeds)
        else:
            np.savez(tmp / "inputs.npz", __array__=np.asarray(feeds))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["KERAS_BACKEND"] = backend
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        result = subprocess.run(
            # -P: the directory of this file (which holds io.py, inputs.py, ...) stays off sys.path
            [sys.executable, "-P", __file__, str(pathlib.Path(model_path).resolve()), str(tmp)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        status = tmp / "status.json"
        if not status.exists():
            return {"eager": None, "jit": None, "x64": None, "error": result.stderr[-2000:] or "no output"}
        out = json.loads(status.read_text())
        for mode in ("eager", "jit"):
            path = tmp / f"{mode}.npy"
            out[mode] = np.load(path) if path.exists() else None
        return out


def _main(model_path: str, directory: str) -> None:  # pragma: no cover - runs in the subprocess
    import keras

    tmp = pathlib.Path(directory)
    status: dict[str, Any] = {"error": None, "x64": None}
    backend = keras.backend.backend()
    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
        with np.load(tmp / "inputs.npz") as data:
            feed = data["__array__"] if "__array__" in data else {k: data[k] for k in data.files}
        np.save(tmp / "eager.npy", keras.ops.convert_to_numpy(model(feed)))
        if backend == "jax":
            import jax

            status["x64"] = bool(jax.config.jax_enable_x64)
            np.save(tmp / "jit.npy", keras.ops.convert_to_numpy(jax.jit(lambda f: model(f))(feed)))
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        status["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    (tmp / "status.json").write_text(json.dumps(status))


if __name__ == "__main__":  # pragma: no cover
    _main(sys.argv[1], sys.argv[2])
