"""Fresh process: load every ``model.keras`` under ROOT with safe_mode=True and run it.

Usage: python load_keras.py ROOT. keras_embed_prep cannot be imported while the models without a
``needs_package`` file load. Then the block is lifted and this repository's keras_embed_prep is
imported (registering its custom layer, TextBag), and the models that need it load.
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


cases = sorted(p for p in root.iterdir() if p.is_dir())


def _replay(case):
    model = keras.saving.load_model(case / "model.keras", safe_mode=True)
    with np.load(case / "inputs.npz") as data:
        inputs = data["__array__"] if "__array__" in data else {k: data[k] for k in data.files}
    outputs = model(inputs)
    if not isinstance(outputs, dict):
        outputs = {"output_0": outputs}
    np.savez(case / "keras_out.npz", **{k: _plain(np.asarray(v)) for k, v in outputs.items()})


for case in cases:
    if not (case / "needs_package").exists():
        _replay(case)
assert "keras_embed_prep" not in sys.modules
_block.unblock()
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
import keras_embed_prep  # noqa: E402, F401  (registers the custom layers)

for case in cases:
    if (case / "needs_package").exists():
        _replay(case)
print("loaded", len(list(root.glob("*/keras_out.npz"))), "models")
