"""diagnose's arguments (doctor/case.py): refused with the error that says what to pass."""

from __future__ import annotations

import pathlib

import pytest

from keras_embed_prep import diagnose
from keras_embed_prep.errors import InputError


def test_diagnose_refuses_bad_arguments(s):
    with pytest.raises(InputError, match="lacks columns"):
        diagnose(s.model, s.X.drop(columns="mass"), preprocessor=s.scaler)
    with pytest.raises(TypeError, match="keras.Model"):
        diagnose(s.scaler, s.X)
    assert pathlib.Path(s.model_file).exists()
