"""Loading preprocessors and models from files without running code they carry.

Preprocessors
-------------
Save a fitted preprocessor with skops (``skops.io.dump(pipeline, "preprocessor.skops")``).
:func:`load_preprocessor` reads it with ``skops.io.load(path, trusted=...)`` and an explicit
list of trusted types, :func:`default_trusted_types`: the classes that have a converter
plus the few numpy internals that fitted scikit-learn transformers store (``numpy.dtype``),
on top of what skops trusts by default (scikit-learn estimators, numpy arrays and ufuncs,
builtins). A file that names any other type (a function of your own module, a class from
another package) is refused with the list of those types; trust them one by one with
``trusted=[...]`` (``--trust TYPE`` on the command line) after reading what they are.

Pickle and joblib files (``.pkl``, ``.pickle``, ``.joblib``, or any file that starts like
a pickle) load only with ``allow_pickle=True`` (``--allow-pickle``): unpickling runs
whatever code the file names, so only do it for files you made yourself.

Models
------
:func:`load_keras_model` reads a ``.keras`` file with ``safe_mode=True`` (a ``Lambda``
layer, whose code would run at load time, is refused). :func:`load_saved_model` reads
a TensorFlow SavedModel directory and returns its ``serving_default`` signature.

Every failure is a :class:`~keras_embed_prep.errors.KerasEmbedPrepError` with a one-line
message that names the file, what it holds and what to do.
"""

from __future__ import annotations

import os
import pathlib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import FileFormatError, UnsafeFileError
from .registry import check_fitted, registered_classes

#: Suffixes that mean "a pickle" (joblib files are pickles too).
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")

#: Types that fitted scikit-learn transformers store and skops does not trust by default.
#: ``numpy.dtype`` is ``SimpleImputer._fit_dtype`` (and KBinsDiscretizer's output dtype):
#: plain data, built without running code from the file.
TRUSTED_INTERNAL_TYPES = ("numpy.dtype",)

#: Longest part of a third-party error message quoted in ours.
_MAX_QUOTE = 300


def _type_name(cls: type) -> str:
    """A type's name as skops writes it: ``module.QualifiedName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def default_trusted_types() -> list[str]:
    """The types :func:`load_preprocessor` trusts beyond skops' own defaults.

    Returns
    -------
    list of str
        Every class that has a converter (built in or registered with
        :func:`~keras_embed_prep.register_converter` in this process) and
        :data:`TRUSTED_INTERNAL_TYPES`, by fully qualified name, sorted.
    """
    names = {_type_name(cls) for cls in registered_classes()}
    names.update(TRUSTED_INTERNAL_TYPES)
    return sorted(names)


def quote_error(exc: BaseException) -> str:
    """A third-party error as one short line: ``Type: message``."""
    text = " ".join(str(exc).split())
    if len(text) > _MAX_QUOTE:
        text = text[: _MAX_QUOTE - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _existing_file(path: str | os.PathLike, what: str) -> pathlib.Path:
    path = pathlib.Path(path)
    if not path.exists():
        raise FileFormatError(f"{what} {str(path)!r} does not exist. Check the path.")
    if path.is_dir():
        raise FileFormatError(f"{what} {str(path)!r} is a directory; expected a file.")
    return path


def _looks_like_pickle(path: pathlib.Path) -> bool:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    with open(path, "rb") as handle:
        head = handle.read(2)
    # Protocol 2+ pickles start with PROTO (0x80) and the protocol number.
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _load_pickle(path: pathlib.Path, allow_pickle: bool) -> Any:
    if not allow_pickle:
        raise UnsafeFileError(
            f"Preprocessor {str(path)!r} is a pickle/joblib file, which is not loaded by default: "
            "unpickling runs arbitrary code named in the file. If you made this file yourself, "
            "pass --allow-pickle (allow_pickle=True); better, save the preprocessor with "
            "skops.io.dump(preprocessor, 'preprocessor.skops') and pass that file."
        )
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # a corrupt pickle can raise almost anything
        raise FileFormatError(
            f"Preprocessor {str(path)!r} could not be unpickled ({quote_error(exc)}). "
            "Check that it is a complete file written by joblib.dump or pickle.dump."
        ) from exc


def _load_skops(path: pathlib.Path, trusted: Sequence[str]) -> Any:
    import skops.io

    if not zipfile.is_zipfile(path):
        raise FileFormatError(
            f"Preprocessor {str(path)!r} is not a skops file (not a zip archive; it may be "
            "truncated or another format). Save the preprocessor with "
            "skops.io.dump(preprocessor, 'preprocessor.skops')."
        )
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises KeyError, BadZipFile, JSON errors, ... on bad files
        raise FileFormatError(
            f"Preprocessor {str(path)!r} is not a readable skops file ({quote_error(exc)}). "
            "Save the preprocessor again with skops.io.dump(preprocessor, 'preprocessor.skops')."
        ) from exc
    allowed = set(default_trusted_types()) | set(trusted)
    refused = [name for name in untrusted if name not in allowed]
    if refused:
        flags = " ".join(f"--trust {name}" for name in refused)
        raise UnsafeFileError(
            f"Preprocessor {str(path)!r} contains types that are not trusted by default: "
            f"{', '.join(refused)}. Loading them may run their code. If you know what they are, "
            f"pass {flags} (trusted=[...] in Python)."
        )
    try:
        return skops.io.load(path, trusted=sorted(allowed))
    except Exception as exc:  # e.g. a module named in the file is not installed
        raise FileFormatError(
            f"Preprocessor {str(path)!r} could not be loaded by skops ({quote_error(exc)}). "
            "Check that it was written by skops.io.dump with the installed scikit-learn."
        ) from exc


def load_preprocessor(
    path: str | os.PathLike,
    *,
    trusted: Sequence[str] = (),
    allow_pickle: bool = False,
    require_fitted: bool = True,
) -> Any:
    """Load a fitted scikit-learn preprocessor from a skops file (or, if allowed, a pickle).

    Parameters
    ----------
    path : str or path-like
        A file written by ``skops.io.dump``; with ``allow_pickle=True`` also by
        ``joblib.dump`` or ``pickle.dump``.
    trusted : sequence of str
        Fully qualified type names to trust in addition to
        :func:`default_trusted_types` and skops' defaults, as listed in the
        :class:`~keras_embed_prep.errors.UnsafeFileError` message.
    allow_pickle : bool
        Load pickle/joblib files. Unpickling runs arbitrary code named in the file.
    require_fitted : bool
        Refuse a preprocessor that is not fitted (``False`` for inspection).

    Returns
    -------
    object
        The preprocessor: an object with ``fit`` and ``transform`` methods.

    Raises
    ------
    UnsafeFileError
        A pickle without ``allow_pickle``, or a skops file with untrusted types.
    FileFormatError
        The file is missing, corrupt, or does not hold a transformer.
    NotFittedError
        ``require_fitted`` and the preprocessor is not fitted.
    """
    path = _existing_file(path, "Preprocessor")
    if _looks_like_pickle(path):
        obj = _load_pickle(path, allow_pickle)
    else:
        obj = _load_skops(path, trusted)
    if not (callable(getattr(obj, "fit", None)) and callable(getattr(obj, "transform", None))):
        raise FileFormatError(
            f"Preprocessor {str(path)!r} holds a {type(obj).__module__}.{type(obj).__name__}, "
            "not a scikit-learn transformer (it needs fit and transform methods). Pass the file "
            "of the fitted preprocessor the model was trained behind."
        )
    if require_fitted:
        check_fitted(
            obj,
            f"Preprocessor {str(path)!r} holds an unfitted {type(obj).__name__}. Fit it on the "
            "training data before saving it.",
        )
    return obj


def is_saved_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a TensorFlow SavedModel directory (holds ``saved_model.pb``)."""
    path = pathlib.Path(path)
    return path.is_dir() and (path / "saved_model.pb").is_file()


def is_keras_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a ``.keras`` archive (a zip holding ``config.json``) or an ``.h5`` file."""
    path = pathlib.Path(path)
    if not path.is_file():
        return False
    if path.suffix.lower() == ".h5":
        return True
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return "config.json" in archive.namelist()


def load_keras_model(path: str | os.PathLike, *, what: str = "Model") -> Any:
    """Load a ``.keras`` model with ``safe_mode=True``.

    Parameters
    ----------
    path : str or path-like
        A file written by ``model.save("model.keras")``.
    what : str
        How the file is named in error messages (``"Model"``, ``"Original model"``).

    Returns
    -------
    keras.Model

    Raises
    ------
    FileFormatError
        The file is missing, is not a ``.keras`` archive, or Keras cannot load it
        (a ``Lambda`` layer is refused by ``safe_mode``).
    """
    path = pathlib.Path(path)
    if is_saved_model(path):
        raise FileFormatError(
            f"{what} {str(path)!r} is a TensorFlow SavedModel directory; this command needs the "
            ".keras file (written by model.save('model.keras'))."
        )
    path = _existing_file(path, what)
    if not is_keras_file(path):
        raise FileFormatError(
            f"{what} {str(path)!r} is not a .keras model file (a .keras file is a zip archive with "
            "config.json). Pass the file written by model.save('model.keras')."
        )
    import keras

    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises ValueError, KeyError, TypeError, ... on bad archives
        raise FileFormatError(
            f"{what} {str(path)!r} could not be loaded by Keras with safe_mode=True ({quote_error(exc)}). "
            "Pass a .keras file written by model.save(...) whose layers load in safe mode (no Lambda layers)."
        ) from exc
    if not isinstance(model, keras.Model):
        raise FileFormatError(f"{what} {str(path)!r} holds a {type(model).__name__}, not a keras.Model.")
    return model


@dataclass(frozen=True)
class ServingSignature:
    """The ``serving_default`` signature of a loaded SavedModel.

    Attributes
    ----------
    path : str
        The SavedModel directory.
    inputs : dict of str to tf.TensorSpec
        Input keys (sanitized names, see :func:`keras_embed_prep.signature_keys`) and specs.
    outputs : dict of str to tf.TensorSpec
        Output keys (``output_0``, ...) and specs.
    function : tf.types.experimental.ConcreteFunction
        The signature itself; calling the ServingSignature instead takes numpy arrays.
    root : object
        The loaded SavedModel; holding it keeps the signature's variables alive.
    """

    path: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    function: Any
    root: Any

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the signature on numpy inputs keyed by signature key."""
        import tensorflow as tf

        tensors = {key: tf.constant(value, dtype=self.inputs[key].dtype) for key, value in feeds.items()}
        return {key: np.asarray(value) for key, value in self.function(**tensors).items()}


def load_saved_model(path: str | os.PathLike, *, what: str = "Model") -> ServingSignature:
    """Load a SavedModel directory (as written by :func:`keras_embed_prep.export`).

    Parameters
    ----------
    path : str or path-like
        The SavedModel directory.
    what : str
        How the directory is named in error messages.

    Returns
    -------
    ServingSignature
        Its ``serving_default`` signature, callable on a dict of numpy arrays.

    Raises
    ------
    FileFormatError
        Not a SavedModel directory, unreadable, or without ``serving_default``.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileFormatError(f"{what} {str(path)!r} does not exist. Check the path.")
    if not is_saved_model(path):
        raise FileFormatError(
            f"{what} {str(path)!r} is not a SavedModel directory (no saved_model.pb). Pass the "
            "directory written by keras_embed_prep.export (embed --savedmodel DIR)."
        )
    import tensorflow as tf

    try:
        root = tf.saved_model.load(str(path))
    except Exception as exc:  # TensorFlow raises several kinds on damaged SavedModels
        raise FileFormatError(
            f"{what} {str(path)!r} could not be loaded by TensorFlow ({quote_error(exc)})."
        ) from exc
    function = root.signatures.get("serving_default")
    if function is None:
        raise FileFormatError(
            f"{what} {str(path)!r} has no serving_default signature (it has "
            f"{sorted(root.signatures)}). Export it with keras_embed_prep.export."
        )
    _, inputs = function.structured_input_signature
    outputs = function.structured_outputs
    return ServingSignature(
        path=str(path), inputs=dict(inputs), outputs=dict(outputs), function=function, root=root
    )
