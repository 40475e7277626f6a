"""ONNX export: ``driver`` (tf2onnx and the checks), ``handlers`` (its repairs), ``gates``, ``probes``.

Nothing here is imported until ``export(..., format="onnx")`` asks for it.
"""
