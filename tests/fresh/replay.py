"""Fresh process: serve each ``savedmodel/`` under ROOT with TensorFlow alone, then load each ``model.keras``.

Usage: python replay.py ROOT. keras_embed_prep cannot be imported (tests/fresh/_block.py).

1. Each SavedModel is loaded with ``tf.saved_model.load`` and called through its
   ``serving_default`` signature: TensorFlow alone serves it.
2. Each ``model.keras`` without a ``needs_package`` file loads with
   ``safe_mode=True`` and runs.
3. The block is lifted, this repository's keras_embed_prep is imported (registering its
   custom layer, TextBag), and the models that need it load.

Outputs are written beside the inputs as ``savedmodel_out.npz`` and ``keras_out.npz``.
"""

import json
import pathlib
import sys

import _block  # noqa: F401  (must come first)
import numpy as np
import tensorflow as tf

root = pathlib.Path(sys.argv[1])
cases = sorted(p for p in root.iterdir() if p.is_dir())


def _plain(array):
    """Text outputs (object arrays of bytes) as unicode, so np.load needs no pickle."""
    return np.char.decode(array.astype(bytes), "utf-8") if array.dtype == object else array


def _inputs(case):
    with np.load(case / "inputs.npz") as data:
        return data["__array__"] if "__array__" in data else {k: data[k] for k in data.files}


for case in cases:
    if not (case / "savedmodel").exists():  # its layers are served in another case's SavedModel
        continue
    serve = tf.saved_model.load(str(case / "savedmodel")).signatures["serving_default"]
    keys = json.loads((case / "signature.json").read_text())
    inputs = _inputs(case)
    if isinstance(inputs, dict):
        feed = {keys[name]: tf.constant(value) for name, value in inputs.items()}
    else:
        (key,) = keys.values()
        feed = {key: tf.constant(inputs)}
    outputs = {k: v.numpy() for k, v in serve(**feed).items()}
    np.savez(case / "savedmodel_out.npz", **{k: _plain(v) for k, v in outputs.items()})
if "keras_embed_prep" in sys.modules:
    sys.exit("keras_embed_prep was imported while serving the SavedModels")

import keras  # noqa: E402


def _replay(case):
    model = keras.saving.load_model(case / "model.keras", safe_mode=True)
    outputs = model(_inputs(case))
    if not isinstance(outputs, dict):
        outputs = {"output_0": outputs}
    np.savez(case / "keras_out.npz", **{k: _plain(np.asarray(v)) for k, v in outputs.items()})


for case in cases:
    if not (case / "needs_package").exists():
        _replay(case)
if "keras_embed_prep" in sys.modules:
    sys.exit("keras_embed_prep was imported while loading the .keras files")
_block.unblock()
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
import keras_embed_prep  # noqa: E402, F401  (registers the custom layers)

for case in cases:
    if (case / "needs_package").exists():
        _replay(case)
print(
    "served",
    len(list(root.glob("*/savedmodel_out.npz"))),
    "SavedModels;",
    "loaded",
    len(list(root.glob("*/keras_out.npz"))),
    ".keras files",
)
