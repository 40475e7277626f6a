"""FunctionTransformer: ``func=None``, a named numpy function, or ``np.ravel`` before a vectorizer."""

from __future__ import annotations

import numpy as np
from keras import ops
from sklearn.preprocessing import FunctionTransformer

from ..blocks import affine
from ..registry import register_converter
from ._checks import refuse

#: numpy ufunc -> the keras.ops function computing the same thing elementwise.
NUMPY_FUNCTIONS = {
    np.abs: ops.abs,
    np.arcsinh: ops.arcsinh,
    np.exp: ops.exp,
    np.expm1: ops.expm1,
    np.log: ops.log,
    np.log10: ops.log10,
    np.log1p: ops.log1p,
    np.log2: ops.log2,
    np.negative: ops.negative,
    np.sign: affine.sign,
    np.sqrt: ops.sqrt,
    np.square: ops.square,
    np.tanh: ops.tanh,
}


def _passes_text(estimator, n_columns: int) -> list[str]:
    """Numbers, except that the identity and ``np.ravel`` pass text through (see the converter)."""
    return ["number"] * n_columns


@register_converter(
    FunctionTransformer,
    notes=(
        "func=None (identity) or one of np."
        + ", np.".join(sorted(f.__name__ for f in NUMPY_FUNCTIONS))
        + " without kw_args; np.ravel of one text column (the column a text vectorizer takes). "
        "Other functions (lambdas included) are refused: register a converter."
    ),
    input_kinds=_passes_text,
)
def convert_function_transformer(estimator, x):
    func = estimator.func
    if estimator.kw_args:
        raise refuse(
            estimator,
            "kw_args",
            estimator.kw_args,
            "keyword arguments to func cannot be reproduced; fold them into a function "
            "and register a converter for it.",
        )
    text = not (hasattr(x, "dtype") and x.dtype == "float64")
    if func is np.ravel:
        if len(x.shape) == 2 and int(x.shape[-1]) != 1 or not text:
            raise refuse(
                estimator,
                "func",
                "np.ravel",
                "converts only for one text column (one document per row, before a text vectorizer).",
            )
        return x
    if func is None:
        return x
    if text:
        raise refuse(
            estimator,
            "func",
            getattr(func, "__name__", func),
            "it receives text columns here; only func=None and np.ravel pass text through.",
        )
    op = NUMPY_FUNCTIONS.get(func)
    if op is None:
        name = getattr(func, "__qualname__", repr(func))
        supported = ", ".join(f"np.{f.__name__}" for f in NUMPY_FUNCTIONS)
        raise refuse(
            estimator,
            "func",
            name,
            f"only func=None and {supported} are built in. For anything else, wrap it in a "
            "FunctionTransformer subclass and register a converter for that class with "
            "@keras_embed_prep.register_converter(YourTransformer).",
        )
    return op(x)
