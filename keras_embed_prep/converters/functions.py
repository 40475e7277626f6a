"""FunctionTransformer with ``func=None`` or a named numpy function."""

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


@register_converter(
    FunctionTransformer,
    notes=(
        "func=None (identity) or one of np."
        + ", np.".join(sorted(f.__name__ for f in NUMPY_FUNCTIONS))
        + " without kw_args. Other functions (lambdas included) are refused: register a converter."
    ),
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
    if func is None:
        return x
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
