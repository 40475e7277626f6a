"""The exception hierarchy of keras_embed_prep.

Every error a user can cause is raised as one of these classes, before any model
is built, with a message that names the object, what was received and what to do.
The classes also derive from the built-in exception a scikit-learn user would
expect (``ValueError``, ``TypeError``), so existing ``except`` clauses keep working.
"""

from __future__ import annotations


class KerasEmbedPrepError(Exception):
    """Base class of every error raised by keras_embed_prep."""


class NotFittedError(KerasEmbedPrepError, ValueError):
    """The preprocessor (or one of its steps) has not been fitted."""


class UnsupportedEstimatorError(KerasEmbedPrepError, TypeError):
    """No converter is registered for this exact scikit-learn class."""


class UnsupportedParameterError(KerasEmbedPrepError, ValueError):
    """The estimator is supported, but one of its parameters cannot be reproduced exactly."""


class ShapeMismatchError(KerasEmbedPrepError, ValueError):
    """Widths do not line up: preprocessor output versus model input."""


class InputError(KerasEmbedPrepError, ValueError):
    """Data given to a converted model is missing a column or has the wrong width or kind."""


__all__ = [
    "InputError",
    "KerasEmbedPrepError",
    "NotFittedError",
    "ShapeMismatchError",
    "UnsupportedEstimatorError",
    "UnsupportedParameterError",
]


class FileFormatError(KerasEmbedPrepError, ValueError):
    """A file is missing, unreadable, corrupt, or holds something other than what was expected."""


class UnsafeFileError(KerasEmbedPrepError, ValueError):
    """Loading a file would run code it names: a pickle, or a skops file with untrusted types."""


__all__ += ["FileFormatError", "UnsafeFileError"]


class ExportError(KerasEmbedPrepError, ValueError):
    """A model cannot be exported to the format asked for, exactly: an op that does not convert,
    an inference-time check the format would drop, or a parity failure of the converted artifact."""


class MissingDependencyError(KerasEmbedPrepError, ImportError):
    """An optional dependency (an extra such as ``keras-embed-prep[onnx]``) is not installed."""


__all__ += ["ExportError", "MissingDependencyError"]
