"""Built-in converters; importing this package registers them all."""

from .. import graph  # noqa: F401  (Pipeline)
from . import (  # noqa: F401
    decomposition,
    discretize,
    encoders,
    functions,
    impute,
    nonlinear,
    polynomial,
    scalers,
    selection,
)
