"""keras-embed-prep: fitted scikit-learn preprocessing as Keras layers, inside the model.

>>> from keras_embed_prep import embed, export
>>> full = embed(model, preprocessor)      # doctest: +SKIP
>>> full.save("model.keras")               # doctest: +SKIP
>>> export(full, "serving/1")              # doctest: +SKIP
"""

from . import converters, decoders, errors  # noqa: F401  (importing converters and decoders registers them)
from .convert import to_keras
from .doctor import DoctorReport, diagnose
from .embed import embed
from .export import export, signature_keys
from .inputs import to_inputs
from .registry import register_converter, supported_estimators
from .scoring import Scorer, scorer
from .verify import ParityReport, verify

__version__ = "0.1.0"

__all__ = [
    "DoctorReport",
    "ParityReport",
    "Scorer",
    "diagnose",
    "embed",
    "errors",
    "export",
    "register_converter",
    "scorer",
    "signature_keys",
    "supported_estimators",
    "to_inputs",
    "to_keras",
    "verify",
]
