"""Save/load drift (doctor/roundtrip.py): a custom layer that forgets an argument, a Lambda layer."""

from __future__ import annotations

import keras
from keras import ops

from keras_embed_prep import diagnose


@keras.saving.register_keras_serializable(package="doctor_tests")
class Forgetful(keras.layers.Layer):
    """Multiplies by ``factor`` but forgets to save it: reloaded, it multiplies by 1."""

    def __init__(self, factor: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return ops.multiply(x, self.factor)

    def get_config(self):  # the bug: `factor` is left out
        config = super().get_config()
        config.pop("factor", None)
        return config


def test_save_load_drift_and_lambda(s):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            Forgetful(3.0, name="forgetful"),
            keras.layers.Lambda(lambda x: x + 1.0, name="shift"),
            keras.layers.Dense(1, name="out"),
        ],
        name="drifting",
    )
    trip = diagnose(model, s.X.to_numpy()).roundtrip
    assert trip.safe_mode is False and trip.needs_unsafe_mode and trip.lambda_layers == ["shift"]
    assert trip.custom_objects == ["doctor_tests>Forgetful"]
    assert trip.outputs_match is False and trip.drift_layer == "forgetful", trip
    assert trip.failed_layers == [
        "forgetful (Forgetful): attributes not restored: factor=3.0 came back as 1.0 "
        "(return them from get_config)"
    ]
