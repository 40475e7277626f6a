"""Classification targets: probabilities and labels decoded as numpy's argmax would."""

from __future__ import annotations

import numpy as np
from keras import ops
from sklearn.preprocessing import LabelBinarizer, LabelEncoder, OneHotEncoder

from ..blocks import labels
from ..converters._checks import refuse
from ..errors import ShapeMismatchError
from ..registry import register_decoder


def _class_index(y, binary_threshold: float = 0.5):
    """Class index per row: ``y > threshold`` for one column, numpy's argmax otherwise."""
    if int(y.shape[-1]) == 1:
        # np.argmax([1 - p, p]) picks 1 exactly when p > 0.5; NaN gives 0, as in numpy.
        return ops.cast(ops.greater(ops.squeeze(y, axis=1), np.float32(binary_threshold)), "int64")
    return labels.numpy_argmax(y)


def decoded_labels(y, classes, binary_threshold: float = 0.5):
    classes = np.asarray(classes)
    width = int(y.shape[-1])
    if width != 1 and width != classes.size:
        raise refuse_width(classes.size, width)
    return {"probabilities": y, "label": labels.take_labels(_class_index(y, binary_threshold), classes)}


def refuse_width(n_classes: int, width: int) -> ShapeMismatchError:
    return ShapeMismatchError(
        f"The target has {n_classes} classes but the model outputs {width} columns. Decoding needs "
        "one probability per class, or one column (the positive class) for two classes."
    )


@register_decoder(
    LabelEncoder,
    notes="Outputs 'probabilities' and 'label': argmax as numpy computes it (first max; NaN rows: "
    "first NaN), or p > 0.5 for a single sigmoid column.",
)
def decode_label_encoder(estimator, y):
    if int(y.shape[-1]) == 1 and len(estimator.classes_) != 2:
        raise refuse_width(len(estimator.classes_), 1)
    return decoded_labels(y, estimator.classes_)


@register_decoder(
    LabelBinarizer,
    notes="Binary (one column, y > (pos_label + neg_label) / 2) and multiclass (argmax); not multilabel.",
)
def decode_label_binarizer(estimator, y):
    if estimator.y_type_ == "multilabel-indicator":
        raise refuse(estimator, "y_type_", estimator.y_type_, "multilabel targets are not decoded.")
    threshold = (estimator.pos_label + estimator.neg_label) / 2.0
    return decoded_labels(y, estimator.classes_, binary_threshold=threshold)


@register_decoder(
    OneHotEncoder, notes="One target column, no drop or infrequent categories: argmax -> category."
)
def decode_one_hot_encoder(estimator, y):
    if len(estimator.categories_) != 1:
        raise refuse(estimator, "n_features_in_", len(estimator.categories_), "decode one target column.")
    if estimator.drop_idx_ is not None:
        raise refuse(estimator, "drop", estimator.drop, "a dropped category cannot be decoded by argmax.")
    return decoded_labels(y, estimator.categories_[0])
