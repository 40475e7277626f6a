"""category_encoders: what is refused, by name, before a model is built."""

from __future__ import annotations

import pytest
from cases_tabular import _target_y, frame

from keras_embed_prep import to_keras
from keras_embed_prep.errors import UnsupportedEstimatorError, UnsupportedParameterError

ce = pytest.importorskip("category_encoders")


def test_hashing_encoder_is_refused_by_name():
    fit, _ = frame()
    with pytest.raises(UnsupportedEstimatorError, match=r"HashingEncoder does not convert: .*MD5"):
        to_keras(ce.HashingEncoder(cols=["island"]).fit(fit))


@pytest.mark.parametrize(
    ("make", "parameter"),
    [
        (lambda: ce.OrdinalEncoder(min_group_size=30), "min_group_size"),
        (lambda: ce.TargetEncoder(composite_cols=[("island", "sex")]), "composite_cols"),
        (lambda: ce.OrdinalEncoder(handle_unknown=lambda value, mapping: -7), "handle_unknown"),
    ],
    ids=["min-group-size", "composite-cols", "callable"],
)
def test_options_that_join_values_or_call_back_are_refused(make, parameter):
    fit, _ = frame()
    encoder = make().fit(fit, _target_y("binary")(fit))
    with pytest.raises(UnsupportedParameterError, match=rf"\({parameter}="):
        to_keras(encoder)
