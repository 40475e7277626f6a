"""Built-in converters; importing this package registers them all."""

from .. import graph  # noqa: F401  (Pipeline)
from . import decomposition, functions, impute, polynomial, scalers  # noqa: F401
