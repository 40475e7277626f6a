"""Fresh process: serve every ``savedmodel/`` under ROOT with TensorFlow alone.

Usage: python load_savedmodel.py ROOT. Only ``tf.saved_model.load`` and the
``serving_default`` signature are used; keras_embed_prep cannot be imported.
"""

import json
import pathlib
import sys

import _block  # noqa: F401  (must come first)
import numpy as np
import tensorflow as tf

root = pathlib.Path(sys.argv[1])


def _plain(array):
    """Text outputs (object arrays of bytes) as unicode, so np.load needs no pickle."""
    return np.char.decode(array.astype(bytes), "utf-8") if array.dtype == object else array


for case in sorted(p for p in root.iterdir() if p.is_dir()):
    serve = tf.saved_model.load(str(case / "savedmodel")).signatures["serving_default"]
    keys = json.loads((case / "signature.json").read_text())
    with np.load(case / "inputs.npz") as data:
        if "__array__" in data:
            (key,) = keys.values()
            feed = {key: tf.constant(data["__array__"])}
        else:
            feed = {keys[name]: tf.constant(data[name]) for name in data.files}
    outputs = {k: v.numpy() for k, v in serve(**feed).items()}
    np.savez(case / "savedmodel_out.npz", **{k: _plain(v) for k, v in outputs.items()})
assert "keras_embed_prep" not in sys.modules
print("served", len(list(root.glob("*/savedmodel_out.npz"))), "models")
