"""LiteRT export: ``driver`` (conversion and checks), ``float32`` (the float64 math in float32), ``nodes``.

Nothing here is imported until ``export(..., format="litert")`` asks for it.
"""
