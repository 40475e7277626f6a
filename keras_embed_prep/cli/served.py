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


def open_embedded(path: str, preprocessor: Any) -> KerasServed | SavedModelServed:
    """The embedded model at ``path``: a SavedModel directory, else a ``.keras`` file."""
    if pathlib.Path(path).is_dir() or is_saved_model(path):
        return SavedModelServed(load_saved_model(path, what="Embedded model"), preprocessor)
    return KerasServed(load_keras_model(path, what="Embedded model"))
