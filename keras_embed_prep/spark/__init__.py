"""Spark ML: fitted pipelines converted like scikit-learn ones, and DataFrames scored on the executors.

Importing this package (``to_keras`` does it for a ``pyspark.ml`` object) registers the converters of
Spark ML stages (:mod:`.scalers`, :mod:`.encoders`, :mod:`.pipeline`) in the package's registry. It
needs pyspark: ``pip install keras-embed-prep[spark]``.
"""

try:
    import pyspark  # noqa: F401
except ImportError as exc:  # pragma: no cover - the [spark] extra is missing
    from ..errors import MissingDependencyError

    raise MissingDependencyError(
        "keras_embed_prep.spark needs pyspark: pip install keras-embed-prep[spark]."
    ) from exc

from . import encoders, pipeline, scalers  # noqa: F401  (importing them registers the converters)
from .predict import predict

__all__ = ["predict"]
