"""Built-in converters; importing this package registers them all."""

from . import (  # noqa: F401
    compose,
    decomposition,
    discretize,
    encoders,
    functions,
    impute,
    iterative,
    nonlinear,
    polynomial,
    scalers,
    selection,
    text,
)
