"""Built-in converters; importing this package registers them all."""

from . import (  # noqa: F401
    compose,
    decomposition,
    discretize,
    encoders,
    functions,
    impute,
    iterative,
    knn,
    nonlinear,
    polynomial,
    scalers,
    selection,
)
