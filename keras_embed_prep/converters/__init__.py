"""Built-in converters; importing this package registers them all (those of other packages only
where the package is importable)."""

import importlib.util

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
    text,
)

if importlib.util.find_spec("category_encoders") is not None:
    from . import category_encoders  # noqa: F401

if importlib.util.find_spec("feature_engine") is not None:
    from . import feature_engine  # noqa: F401
