"""The one class-keyed table: converters of fitted transformers and decoders of fitted targets,
and the one check that an estimator is fitted.

A converter is a function ``converter(estimator, x) -> y`` where ``x`` is the
symbolic Keras tensor the estimator's ``transform`` would receive and ``y`` is the
symbolic tensor it returns. Numeric tensors are float64 ``(batch, n)`` inside the
graph; :func:`keras_embed_prep.to_keras` casts to float32 only at the very end.

Converters are looked up by the estimator's *exact* class: a subclass with its
own ``transform`` is not silently converted as its parent. A target decoder is a function
``decoder(estimator, y) -> outputs`` (see :mod:`keras_embed_prep.decoders`), registered in
the same table with :func:`register_decoder`. Importing :mod:`keras_embed_prep` imports the
built-in converters and decoders, which registers them; this module imports neither.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from .errors import NotFittedError, UnsupportedEstimatorError, UnsupportedParameterError

Converter = Callable[[Any, Any], Any]

#: The parameter names every converter must accept, in this order.
CONVERTER_PARAMETERS = ("estimator", "x")
#: The parameter names every target decoder must accept, in this order.
DECODER_PARAMETERS = ("estimator", "y")


@dataclass(frozen=True)
class SupportedEstimator:
    """One row of :func:`supported_estimators`."""

    estimator_class: type
    name: str
    module: str
    converter: Converter
    notes: str
    needs_package_to_load: bool
    #: ``input_kinds(estimator, n_columns)``: "number" or "text" per input column; None: all numbers.
    input_kinds: Callable[[Any, int], list[str]] | None = None
    #: ``check(estimator)`` raises NotFittedError when it is not fitted; None: scikit-learn's check.
    check: Callable[[Any], None] | None = None

    @property
    def jax_without_x64(self) -> str:
        """What this converter gives on JAX without ``JAX_ENABLE_X64``: ``"exact"`` or why not.

        Measured over the parity cases (:mod:`keras_embed_prep.backend_support`); classes outside
        scikit-learn are not measured.
        """
        from .backend_support import without_x64

        if not self.module.startswith("sklearn."):
            return without_x64("")
        return without_x64(self.name)


#: ``(role, class) -> entry``; role is "converter" or "decoder".
_TABLE: dict[tuple[str, type], SupportedEstimator] = {}


def _checked(fn: Callable, parameters: tuple[str, ...], role: str) -> None:
    params = tuple(inspect.signature(fn).parameters)
    if params != parameters:
        raise TypeError(
            f"A {role} must take exactly the parameters {parameters}. Received: {fn.__name__}{params}."
        )


def _converters() -> dict[type, SupportedEstimator]:
    return {cls: entry for (role, cls), entry in _TABLE.items() if role == "converter"}


def _public_module(cls: type) -> str:
    """The public module path: private (underscore) parts of the defining module are dropped."""
    parts = cls.__module__.split(".")
    public = [p for p in parts if not p.startswith("_")]
    return ".".join(public)


def register_converter(
    cls: type,
    *,
    notes: str = "",
    needs_package_to_load: bool = False,
    input_kinds: Callable[[Any, int], list[str]] | None = None,
    check: Callable[[Any], None] | None = None,
) -> Callable[[Converter], Converter]:
    """Register a converter for the exact class ``cls``.

    Parameters
    ----------
    cls : type
        The scikit-learn (or third-party) transformer class.
    notes : str
        What is reproduced and what is refused; shown by :func:`supported_estimators`.
    needs_package_to_load : bool
        True when the converter emits a custom layer, so that a saved ``.keras``
        file needs keras_embed_prep installed to load.
    input_kinds : callable, optional
        For converters that accept text: ``input_kinds(estimator, n_columns)``
        returns ``"number"`` or ``"text"`` for each input column, which decides whether the
        raw input is float32 or a string tensor. Converters without it receive float64
        tensors only.
    check : callable, optional
        ``check(estimator)`` raises :class:`~keras_embed_prep.errors.NotFittedError` when
        ``estimator`` is not fitted; by default scikit-learn's ``check_is_fitted`` decides
        (classes of other libraries, such as Spark ML's, bring their own).

    Examples
    --------
    >>> from keras_embed_prep import register_converter
    >>> class Doubler: ...                       # doctest: +SKIP
    >>> @register_converter(Doubler)             # doctest: +SKIP
    ... def convert_doubler(estimator, x):
    ...     return keras.ops.multiply(x, 2.0)
    """
    return _registering("converter", cls, notes, needs_package_to_load, input_kinds, check)


def _registering(
    role: str, cls: Any, notes: str, needs_package_to_load: bool = False, input_kinds=None, check=None
):
    """The decorator that enters ``fn`` in the table as ``role`` for ``cls``, after checking both."""
    what, parameters = {
        "converter": ("register_converter", CONVERTER_PARAMETERS),
        "decoder": ("register_decoder", DECODER_PARAMETERS),
    }[role]
    if not isinstance(cls, type):
        raise TypeError(f"{what} expects a class. Received: {cls!r} of type {type(cls).__name__}.")

    def decorator(fn: Converter) -> Converter:
        _checked(fn, parameters, role)
        _TABLE[role, cls] = SupportedEstimator(
            estimator_class=cls,
            name=cls.__name__,
            module=_public_module(cls),
            converter=fn,
            notes=notes,
            needs_package_to_load=needs_package_to_load,
            input_kinds=input_kinds,
            check=check,
        )
        return fn

    return decorator


def unregister_converter(cls: type) -> None:
    """Remove the converter registered for the exact class ``cls`` (KeyError if there is none)."""
    del _TABLE["converter", cls]


def register_decoder(cls: type, *, notes: str = "") -> Callable[[Converter], Converter]:
    """Register ``decoder(estimator, y)`` for targets fitted with the exact class ``cls``.

    ``y`` is the Keras model's output; a regression decoder returns one tensor in original
    units, a classification decoder returns ``{"probabilities": ..., "label": ...}``.
    """
    return _registering("decoder", cls, notes)


def decoder_for(target: Any) -> SupportedEstimator | None:
    """The decoder entry for ``target``'s exact class, or None."""
    return _TABLE.get(("decoder", type(target)))


def supported_targets() -> dict[str, str]:
    """Target transformer class name -> what its decoder reproduces."""
    decoders = [entry for (role, _), entry in _TABLE.items() if role == "decoder"]
    return {entry.name: entry.notes for entry in sorted(decoders, key=lambda e: e.name)}


#: Ids of the estimators already checked in the build in progress (see :func:`checking_once`).
_CHECKED: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar("checked", default=None)


@contextlib.contextmanager
def checking_once() -> Iterator[None]:
    """Inside the block, :func:`lookup` checks each estimator for fittedness once, not per call."""
    token = _CHECKED.set(set())
    try:
        yield
    finally:
        _CHECKED.reset(token)


def check_fitted(estimator: Any, message: str | None = None) -> None:
    """Raise :class:`~keras_embed_prep.errors.NotFittedError` unless scikit-learn finds ``estimator`` fitted.

    ``message`` replaces the default text (which names the class and says to call fit).
    """
    try:
        check_is_fitted(estimator)
    except _SklearnNotFittedError as exc:
        raise NotFittedError(
            message
            or f"{type(estimator).__name__} is not fitted. Call fit(X) on it (or on the pipeline "
            "that holds it) before converting."
        ) from exc


def supported_estimators() -> list[SupportedEstimator]:
    """What converts, generated from the registry, sorted by module and name.

    Parity is for the TensorFlow backend. On JAX it holds for the numeric converters with
    ``JAX_ENABLE_X64=1``; without it, each entry's ``jax_without_x64`` says whether it is still
    exact (measured over the parity cases). Models with text inputs load on TensorFlow only; so do
    models with inference-time checks (``PowerTransformer``, ``SplineTransformer`` with
    ``handle_missing`` or ``extrapolation="error"``, ``MissingIndicator(error_on_new=True)``,
    ``KNNImputer``, ``handle_unknown="error"`` in the encoders, ...; docs/backends.md lists them)
    unless built with ``checks="nan"``, which makes the refused rows NaN and loads on JAX and
    PyTorch. docs/backends.md has the table, and
    ``verify(..., backend="jax")`` checks a saved file there.
    """
    return sorted(_converters().values(), key=lambda e: (e.module, e.name))


#: Why classes of ``sklearn.preprocessing`` have no converter (see :func:`unsupported_estimators`).
NOT_SUPPORTED = {
    "KernelCenterer": "it centers a kernel (Gram) matrix computed against the training rows, not raw "
    "features; convert the kernel computation and the model instead",
    "LabelBinarizer": "it encodes targets (y), not features: pass it as embed(..., target=...) to decode "
    "the model's output",
    "LabelEncoder": "it encodes targets (y), not features: pass it as embed(..., target=...) to decode "
    "the model's output",
    "MultiLabelBinarizer": "it encodes multilabel targets (y), not features, and multilabel outputs are "
    "not decoded",
}


#: Classes of other packages refused by name, with the reason (see :func:`register_refusal`).
_REFUSED: dict[type, str] = {}


def register_refusal(cls: type, reason: str) -> None:
    """Refuse the exact class ``cls`` by name with ``reason``, rather than as "no converter".

    For a class whose transform cannot be reproduced at all (a third party's, or one of
    another package), so that ``to_keras`` says why.
    """
    _REFUSED[cls] = reason


def unsupported_estimators() -> dict[str, str]:
    """Public classes of ``sklearn.preprocessing`` without a converter, with the reason."""
    import sklearn.preprocessing

    converted = {cls.__name__ for cls in _converters() if cls.__module__.startswith("sklearn.preprocessing")}
    names = [n for n in sklearn.preprocessing.__all__ if isinstance(getattr(sklearn.preprocessing, n), type)]
    return {
        name: NOT_SUPPORTED.get(name, "no converter yet") for name in sorted(names) if name not in converted
    }


def registered_classes() -> list[type]:
    """Every class with a converter."""
    return list(_converters())


def lookup(estimator: Any) -> SupportedEstimator:
    """The registry entry for ``estimator``'s exact class, after checking it is fitted.

    Raises
    ------
    UnsupportedEstimatorError
        No converter for this exact class.
    NotFittedError
        The estimator is not fitted.
    """
    entry = _TABLE.get(("converter", type(estimator)))
    if entry is None and type(estimator) in _REFUSED:
        raise UnsupportedEstimatorError(
            f"{type(estimator).__name__} does not convert: {_REFUSED[type(estimator)]}."
        )
    if entry is None:
        reason = NOT_SUPPORTED.get(type(estimator).__name__)
        if reason is not None and type(estimator).__module__.startswith("sklearn.preprocessing"):
            raise UnsupportedEstimatorError(f"{type(estimator).__name__} does not convert: {reason}.")
        names = ", ".join(sorted(e.name for e in _converters().values()))
        raise UnsupportedEstimatorError(
            f"{type(estimator).__module__}.{type(estimator).__name__} has no converter. "
            f"Supported classes: {names}. To add one, decorate a function "
            "`def convert(estimator, x)` with `@keras_embed_prep.register_converter(YourClass)`."
        )
    checked = _CHECKED.get()
    if checked is None or id(estimator) not in checked:
        (entry.check or check_fitted)(estimator)
        if checked is not None:
            checked.add(id(estimator))
    return entry


def input_kinds(estimator: Any, n_columns: int) -> list[str]:
    """``"number"`` or ``"text"`` for each of the ``n_columns`` columns ``estimator`` takes."""
    entry = lookup(estimator)
    if entry.input_kinds is not None:
        return list(entry.input_kinds(estimator, n_columns))
    return ["number"] * n_columns


def convert(estimator: Any, x: Any) -> Any:
    """Convert one fitted estimator applied to the symbolic tensor ``x``."""
    entry = lookup(estimator)
    if entry.input_kinds is None and not (hasattr(x, "dtype") and x.dtype == "float64"):
        raise UnsupportedParameterError(
            f"{type(estimator).__name__} received text columns, but it only converts numbers. "
            "Encode text columns first (OneHotEncoder, OrdinalEncoder, ...) or select only "
            "numeric columns for it in the ColumnTransformer."
        )
    return entry.converter(estimator, x)
