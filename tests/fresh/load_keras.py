"""Fresh process: load every ``model.keras`` under ROOT with safe_mode=True and run it.

Usage: python load_keras.py ROOT. keras_embed_prep cannot be imported here.
"""

import pathlib
import sys

import _block  # noqa: F401  (must come first)
import keras
import numpy as np

root = pathlib.Path(sys.argv[1])


def _plain(array):
    """Text outputs (object arrays of bytes) as unicode, so np.load needs no pickle."""
    return np.char.decode(array.astype(bytes), "utf-8") if array.dtype == object else array


for case in sorted(p for p in root.iterdir() if p.is_dir()):
    model = keras.saving.load_model(case / "model.keras", safe_mode=True)
    with np.load(case / "inputs.npz") as data:
        inputs = data["__array__"] if "__array__" in data else {k: data[k] for k in data.files}
    outputs = model(inputs)
    if not isinstance(outputs, dict):
        outputs = {"output_0": outputs}
    np.savez(case / "keras_out.npz", **{k: _plain(np.asarray(v)) for k, v in outputs.items()})
assert "keras_embed_prep" not in sys.modules
print("loaded", len(list(root.glob("*/keras_out.npz"))), "models")
