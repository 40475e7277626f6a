"""Fresh process: load ``model.keras`` files on the JAX or PyTorch backend and run them.

Usage: KERAS_BACKEND=jax|torch python load_backend.py TAG CASE_DIR [CASE_DIR ...]. Neither
TensorFlow nor keras_embed_prep can be imported here: what runs is what a user of
JAX or PyTorch gets. For each case directory it writes ``TAG_eager.npz`` (and, on
JAX, ``TAG_jit.npz``: the call under ``jax.jit``, unless ``REPLAY_JIT=0``), or
``TAG_error.txt`` with the error that loading or calling raised.
"""

import importlib.abc
import importlib.machinery
import os
import pathlib
import sys

import _block  # noqa: F401  (must come first)


class _NoTensorFlow(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import tensorflow`` fails; a probe by find_spec (torch makes one) sees no file."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r} (blocked for this test)")

    def exec_module(self, module):  # pragma: no cover - create_module always raises
        raise ModuleNotFoundError(module.__name__)


sys.meta_path.insert(0, _NoTensorFlow())

import keras  # noqa: E402
import numpy as np  # noqa: E402

tag, cases = sys.argv[1], [pathlib.Path(d) for d in sys.argv[2:]]
backend = keras.backend.backend()
assert backend == os.environ["KERAS_BACKEND"], backend


def _numpy(outputs):
    if not isinstance(outputs, dict):
        outputs = {"output_0": outputs}
    return {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}


def _run(case):
    model = keras.saving.load_model(case / "model.keras", safe_mode=True)
    with np.load(case / "inputs.npz") as data:
        inputs = data["__array__"] if "__array__" in data else {k: data[k] for k in data.files}
    results = {"eager": _numpy(model(inputs))}
    if backend == "jax" and os.environ.get("REPLAY_JIT", "1") != "0":
        import jax

        results["jit"] = _numpy(jax.jit(lambda feed: model(feed))(inputs))
    return results


done = 0
for case in cases:
    try:
        results = _run(case)
    except Exception as exc:  # noqa: BLE001 - the error is the result
        (case / f"{tag}_error.txt").write_text(f"{type(exc).__name__}: {exc}"[:2000])
        continue
    for mode, outputs in results.items():
        np.savez(case / f"{tag}_{mode}.npz", **outputs)
    done += 1
assert "keras_embed_prep" not in sys.modules and "tensorflow" not in sys.modules
print(tag, "ran", done, "models")
