"""The embedded model as it is served: a ``.keras`` file or a SavedModel's ``serving_default``."""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

from ..convert import to_keras
from ..errors import InputError
from ..export import signature_keys
from ..inputs import to_inputs
from ..io import is_saved_model, load_keras_model, load_saved_model
from ..outputs import output_matrix

#: Batch size of Keras ``predict`` calls.
PREDICT_BATCH = 4096


class KerasServed:
    """The embedded model as a ``.keras`` file."""

    def __init__(self, model: Any) -> None:
        self.layout = model

    def predict(self, X: Any) -> np.ndarray:
        feeds = to_inputs(X, self.layout)
        return output_matrix(self.layout.predict(feeds, batch_size=PREDICT_BATCH, verbose=0))


class SavedModelServed:
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
        return output_matrix(self.signature({self.keys[name]: value for name, value in feeds.items()}))


class BackendServed(KerasServed):
    """The embedded ``.keras`` file run on another Keras backend, in a subprocess per chunk of rows.

    :meth:`runs` returns each way that backend ran it (eagerly; on JAX also under ``jax.jit``).
    """

    def __init__(self, model: Any, path: str, backend: str) -> None:
        from ..backend_run import one_output, refuse_checks_off_tensorflow

        one_output(model, "Embedded model")
        refuse_checks_off_tensorflow(model, backend, f"Embedded model {path!r}", "verify without --backend")
        super().__init__(model)
        self.path, self.backend = path, backend
        self.x64: bool | None = None

    def runs(self, X: Any) -> dict[str, np.ndarray]:
        from ..backend_run import run_or_refuse

        feeds = to_inputs(X, self.layout)
        what = f"Embedded model {self.path!r}"
        run = run_or_refuse(self.path, feeds, self.backend, what, "verify without --backend")
        self.x64 = run["x64"]
        return {mode: output_matrix(run[mode]) for mode in ("eager", "jit") if run[mode] is not None}


def open_embedded(path: str, preprocessor: Any, backend: str | None = None) -> KerasServed | SavedModelServed:
    """The embedded model at ``path``: a SavedModel directory, else a ``.keras`` file.

    With ``backend``, the ``.keras`` file is run on that Keras backend (:class:`BackendServed`);
    a SavedModel runs on TensorFlow only and is refused.
    """
    if pathlib.Path(path).is_dir() or is_saved_model(path):
        if backend is not None:
            raise InputError(
                f"--backend {backend} runs a .keras file on that Keras backend, but {path!r} is a "
                "SavedModel, which runs on TensorFlow only. Pass the embedded .keras file, or leave "
                "out --backend."
            )
        return SavedModelServed(load_saved_model(path, what="Embedded model"), preprocessor)
    model = load_keras_model(path, what="Embedded model")
    return KerasServed(model) if backend is None else BackendServed(model, path, backend)
