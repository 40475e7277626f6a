"""ONNX export: ``driver`` (tf2onnx and the checks), ``handlers`` (its repairs), ``gates``, ``parity``.

Nothing here is imported until ``export(..., format="onnx")`` asks for it.
"""
