"""Exporting a model: :func:`export` (``savedmodel``), signatures, ONNX (``onnx/``), LiteRT (``litert/``).

tf2onnx and onnxruntime load only when ``export(..., format="onnx")`` asks for them.
"""

from .savedmodel import FORMATS, export
from .signatures import PACKED_KEYS, packed_inputs, signature_keys

__all__ = ["FORMATS", "PACKED_KEYS", "export", "packed_inputs", "signature_keys"]
