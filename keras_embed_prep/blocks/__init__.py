"""The reusable math of the converters, one module per family, as builders of Keras graph pieces.

Every function takes symbolic Keras tensors and returns symbolic Keras tensors built from
stock Keras layers and ``keras.ops`` calls, so a saved model loads without keras_embed_prep.
Numeric work is done in float64 with float64 constants, in the same order of operations as
scikit-learn (subtract then divide, never multiply by a reciprocal), and cast to float32 only
once, at the end of :func:`keras_embed_prep.to_keras`. On a column offset by 1e6 with a spread
of 1, float32 arithmetic loses about 4e-4; float64 meets the 1e-5 tolerance.
"""
