"""The serving paths compared, built once into files, and loaded back the way each is served.

:func:`build_artifacts` converts a :class:`~workload.Workload` into every path's files
(timing each conversion and recording each failure instead of hiding it);
:func:`load_path` loads one path from those files, in this process or in a fresh one
(the memory probe). A loaded path turns raw rows into its own input (``feed``, not
timed) and maps that input to predictions (``__call__``, timed).
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Label of each path, in report order. ``D:<format>`` paths exist when ``export`` has ``format=``.
LABELS = {
    "A": "A: `ct.transform(df)` then MLP (`tf.function`)",
    "B": "B: embedded SavedModel, `serving_default` on raw tensors",
    "B_frame": "B from the DataFrame: `to_inputs` + `tf.constant` + `serving_default`",
    "B_packed": "B packed: embedded SavedModel, `serving_packed` (one float32 and one string tensor)",
    "C": "C: skl2onnx + tf2onnx merged, onnxruntime",
    "bare": "bare MLP, `tf.function`, on transformed float32 tensors",
    "E": "E: `keras_embed_prep.scorer` of the `.keras` model on the DataFrame (the Python fast path)",
    "E_records": "E from records: the same scorer on a list of row dicts",
    "K_call": "Keras call: `model(to_inputs(df))` on the loaded `.keras` model",
    "K_predict": "Keras predict: `model.predict(to_inputs(df), batch_size=rows)`",
}
#: Paths every run tries; low-latency exports are appended when available.
CORE_PATHS = ("A", "B", "B_frame", "B_packed", "C", "bare", "E", "E_records", "K_call", "K_predict")
#: Formats tried for ``export(model, path, format=...)`` (issue 6, deliverable 3; LiteRT: issue 12).
EXPORT_FORMATS = ("onnx", "litert")
ONNX_OPSET = 17
#: File suffix of each export format's artifact (``export.<suffix>`` in a workdir).
SUFFIXES = {"onnx": "onnx", "litert": "tflite"}


def export_target(workdir: Path, fmt: str) -> Path:
    """Where a workdir holds ``export(format=fmt)``'s file."""
    return workdir / f"export.{SUFFIXES.get(fmt, fmt)}"


def label(name: str) -> str:
    if name.startswith("D:"):
        return f"D: `export(format={name[2:]!r})`"
    return LABELS[name]


def _error(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    message = lines[-1] if lines else ""
    return f"{type(exc).__name__}: {message[:300]}"


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


# --- building -----------------------------------------------------------------------------


def _onnx_preprocessor(preprocessor, spec):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = [(c, FloatTensorType([None, 1])) for c in spec.numeric_columns]
    types += [(c, StringTensorType([None, 1])) for c in spec.text_columns]
    return convert_sklearn(preprocessor, initial_types=types, target_opset=ONNX_OPSET)


def _onnx_mlp(mlp, width: int):
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec([None, width], tf.float32, name="x")]
    fn = tf.function(lambda x: mlp(x, training=False), input_signature=spec)
    model, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=ONNX_OPSET)
    return model


def merge_onnx(first, second):
    """``second(first(x))`` as one ONNX model: same opsets, unique names, then ``merge_models``.

    skl2onnx declares the lowest opset its nodes need (11 here), tf2onnx the one asked
    for and an ``ai.onnx.ml`` import it does not use; ``merge_models`` wants them equal.
    """
    from onnx import compose, version_converter

    def default_opset(model) -> int:
        return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))

    target = max(default_opset(first), default_opset(second))
    if default_opset(first) != target:
        first = version_converter.convert_version(first, target)
    if default_opset(second) != target:
        second = version_converter.convert_version(second, target)
    for model in (first, second):
        used = {node.domain for node in model.graph.node} | {""}
        keep = [o for o in model.opset_import if o.domain in used or o.domain == "ai.onnx"]
        del model.opset_import[:]
        model.opset_import.extend(keep)
    ir = max(first.ir_version, second.ir_version)
    first.ir_version = second.ir_version = ir
    second = compose.add_prefix(second, "mlp_")
    io_map = [(first.graph.output[0].name, second.graph.input[0].name)]
    return compose.merge_models(first, second, io_map=io_map)


def export_formats() -> list[str]:
    """The formats ``keras_embed_prep.export`` accepts, if it has a ``format=`` parameter."""
    from keras_embed_prep import export

    if "format" not in inspect.signature(export).parameters:
        return []
    from keras_embed_prep.export import FORMATS

    return [fmt for fmt in EXPORT_FORMATS if fmt in FORMATS]


def build_artifacts(workload, workdir: str | os.PathLike) -> dict[str, Any]:
    """Write every path's files under ``workdir``; return conversion times, sizes and failures."""
    from workload import directory_size

    import keras_embed_prep as kep

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {"conversion_s": {}, "size_bytes": {}, "errors": {}}
    conv, sizes, errors = info["conversion_s"], info["size_bytes"], info["errors"]
    workload.test.to_pickle(workdir / "test.pkl")
    with open(workdir / "preprocessor.pkl", "wb") as f:
        pickle.dump(workload.preprocessor, f)
    workload.mlp.save(workdir / "mlp.keras")
    sizes["A: preprocessor.pkl + mlp.keras"] = directory_size(workdir / "preprocessor.pkl") + directory_size(
        workdir / "mlp.keras"
    )

    full, conv["B: embed()"] = _timed(kep.embed, workload.mlp, workload.preprocessor)
    _, conv["B: save .keras"] = _timed(full.save, workdir / "embedded.keras")
    _, conv["B: export() SavedModel"] = _timed(kep.export, full, workdir / "savedmodel")
    sizes["B: embedded .keras"] = directory_size(workdir / "embedded.keras")
    sizes["B: SavedModel directory"] = directory_size(workdir / "savedmodel")
    info["signature_keys"] = kep.signature_keys(full)

    try:
        pre, conv["C: skl2onnx (ColumnTransformer)"] = _timed(
            _onnx_preprocessor, workload.preprocessor, workload.spec
        )
    except Exception as exc:  # reported, not hidden
        errors["C"] = f"skl2onnx could not convert the ColumnTransformer: {_error(exc)}"
        pre = None
    try:
        mlp, conv["C: tf2onnx (MLP)"] = _timed(_onnx_mlp, workload.mlp, workload.width)
    except Exception as exc:
        errors["C"] = f"tf2onnx could not convert the MLP: {_error(exc)}"
        mlp = None
    if pre is not None and mlp is not None:
        try:
            merged, conv["C: merge_models"] = _timed(merge_onnx, pre, mlp)
            (workdir / "merged.onnx").write_bytes(merged.SerializeToString())
            sizes["C: merged .onnx"] = directory_size(workdir / "merged.onnx")
        except Exception as exc:
            errors["C"] = f"onnx.compose.merge_models failed: {_error(exc)}"

    formats = export_formats()
    info["export_formats"] = formats
    for fmt in formats:
        target = export_target(workdir, fmt)
        try:
            _, conv[f"D: export(format={fmt!r})"] = _timed(kep.export, full, target, format=fmt)
            sizes[f"D: export(format={fmt!r})"] = directory_size(target)
        except Exception as exc:
            errors[f"D:{fmt}"] = f"export(format={fmt!r}) failed: {_error(exc)}"
    with open(workdir / "manifest.json", "w") as f:
        json.dump(info, f, indent=2)
    return info


def available_paths(info: dict[str, Any]) -> list[str]:
    """Paths whose files were built, in report order."""
    names = [n for n in CORE_PATHS if n not in info["errors"]]
    names += [f"D:{fmt}" for fmt in info.get("export_formats", []) if f"D:{fmt}" not in info["errors"]]
    return names


# --- loading and calling --------------------------------------------------------------------


class _Keras:
    """The MLP behind a ``tf.function`` with a batch-polymorphic signature (no retracing)."""

    def __init__(self, workdir: Path):
        import keras
        import tensorflow as tf

        mlp = keras.saving.load_model(workdir / "mlp.keras", safe_mode=True)
        with open(workdir / "preprocessor.pkl", "rb") as f:
            self.preprocessor = pickle.load(f)
        width = int(mlp.inputs[0].shape[-1])
        self.mlp = mlp
        self.fn = tf.function(
            lambda x: mlp(x, training=False),
            input_signature=[tf.TensorSpec([None, width], tf.float32)],
        )

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        x = self.preprocessor.transform(frame)
        x = x.astype(np.float32)  # sparse float32 first: half the memory of densifying float64
        return x.toarray() if hasattr(x, "toarray") else np.asarray(x)


class SklearnKeras(_Keras):
    """Path A: what users run today."""

    def feed(self, frame):
        return frame.copy()

    def __call__(self, frame):
        return self.fn(self.transform(frame)).numpy()


class BareModel(_Keras):
    """The MLP alone on already-transformed float32 tensors: the cost of the model itself."""

    def feed(self, frame):
        import tensorflow as tf

        return tf.constant(self.transform(frame))

    def __call__(self, x):
        return self.fn(x).numpy()


class EmbeddedSavedModel:
    """Path B: ``tf.saved_model.load`` and the ``serving_default`` signature."""

    def __init__(self, workdir: Path):
        import keras
        import tensorflow as tf

        self.loaded = tf.saved_model.load(str(workdir / "savedmodel"))  # keeps the tables alive
        self.signature = self.loaded.signatures["serving_default"]
        with open(workdir / "manifest.json") as f:
            self.keys = json.load(f)["signature_keys"]
        # to_inputs reads only the model's inputs; the .keras file loads with stock Keras.
        self.model = keras.saving.load_model(workdir / "embedded.keras", safe_mode=True)

    def tensors(self, frame):
        import tensorflow as tf

        from keras_embed_prep import to_inputs

        return {self.keys[k]: tf.constant(v) for k, v in to_inputs(frame, self.model).items()}

    def feed(self, frame):
        return self.tensors(frame)

    def __call__(self, tensors):
        return self.signature(**tensors)["output_0"].numpy()


class EmbeddedFromFrame(EmbeddedSavedModel):
    """Path B with the DataFrame conversion timed too (``to_inputs`` + ``tf.constant``)."""

    def feed(self, frame):
        return frame.copy()

    def __call__(self, frame):
        return self.signature(**self.tensors(frame))["output_0"].numpy()


class EmbeddedPacked(EmbeddedSavedModel):
    """Path B through the ``serving_packed`` signature: two tensors whatever the column count."""

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.signature = self.loaded.signatures["serving_packed"]

    def tensors(self, frame):
        import tensorflow as tf

        from keras_embed_prep import to_inputs
        from keras_embed_prep.export import packed_inputs

        feeds = {k: v.numpy() if hasattr(v, "numpy") else v for k, v in to_inputs(frame, self.model).items()}
        return {k: tf.constant(v) for k, v in packed_inputs(feeds, self.model).items()}


class FastPath:
    """Path E: ``keras_embed_prep.scorer`` on the DataFrame, conversion included in the timing."""

    def __init__(self, workdir: Path):
        from keras_embed_prep import scorer

        self.score = scorer(workdir / "embedded.keras")

    def feed(self, frame):
        return frame.copy()

    def __call__(self, rows):
        return self.score(rows)["output_0"]


class FastPathRecords(FastPath):
    """Path E on rows that arrive as dicts (a web request's JSON), with no DataFrame in between."""

    def feed(self, frame):
        return frame.to_dict("records")


class KerasCall:
    """The loaded ``.keras`` model called eagerly on ``to_inputs(df)``: what Keras users write first."""

    def __init__(self, workdir: Path):
        import keras

        self.model = keras.saving.load_model(workdir / "embedded.keras", safe_mode=True)

    def feed(self, frame):
        return frame.copy()

    def __call__(self, frame):
        from keras_embed_prep import to_inputs

        return np.asarray(self.model(to_inputs(frame, self.model)))


class KerasPredict(KerasCall):
    """``model.predict`` on ``to_inputs(df)``, the whole batch in one step."""

    def __call__(self, frame):
        from keras_embed_prep import to_inputs

        return self.model.predict(to_inputs(frame, self.model), batch_size=len(frame), verbose=0)


class OnnxRuntime:
    """Path C: the merged ONNX model on onnxruntime (named ``(batch, 1)`` inputs)."""

    def __init__(self, workdir: Path):
        import onnxruntime as ort

        self.session = ort.InferenceSession(str(workdir / "merged.onnx"), providers=["CPUExecutionProvider"])
        self.inputs = {i.name: i.type for i in self.session.get_inputs()}

    def feed(self, frame):
        return {
            name: frame[name].to_numpy(dtype=object if kind == "tensor(string)" else np.float32)[:, None]
            for name, kind in self.inputs.items()
        }

    def __call__(self, feed):
        return self.session.run(None, feed)[0]


class Exported:
    """Path D: a low-latency export from ``export(model, path, format=...)``.

    Inputs are matched by signature key (or Keras input name) and shaped as the
    artifact declares. ``onnx`` runs on onnxruntime; ``litert`` on the ``ai-edge-litert``
    interpreter, its ``serving_default`` signature (or its only one) through the
    interpreter's tensors: inputs resized when the batch changes, not on every call
    (the signature runner resizes and reallocates each time).
    """

    def __init__(self, workdir: Path, fmt: str):
        import keras

        self.fmt = fmt
        with open(workdir / "manifest.json") as f:
            self.keys = json.load(f)["signature_keys"]
        self.model = keras.saving.load_model(workdir / "embedded.keras", safe_mode=True)
        target = export_target(workdir, fmt)
        if target.is_dir():
            target = next(p for p in sorted(target.rglob(f"*.{SUFFIXES.get(fmt, fmt)}")))
        if fmt == "onnx":
            import onnxruntime as ort

            self.session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
            self.specs = {i.name: (i.type, len(i.shape)) for i in self.session.get_inputs()}
        else:
            from ai_edge_litert.interpreter import Interpreter

            self.interpreter = Interpreter(model_path=str(target))
            signatures = self.interpreter.get_signature_list()
            key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
            runner = self.interpreter.get_signature_runner(key)
            details = runner.get_input_details()
            self.specs = {name: (d["index"], d["dtype"], len(d["shape"])) for name, d in details.items()}
            self.output_index = next(iter(runner.get_output_details().values()))["index"]
            self.shapes: dict[int, tuple] = {}

    def feed(self, frame):
        from keras_embed_prep import to_inputs

        raw = to_inputs(frame, self.model)
        by_key = {self.keys[k]: v for k, v in raw.items()} | raw
        if self.fmt != "onnx":
            feed = []
            for name, (index, dtype, rank) in self.specs.items():
                values = np.asarray(by_key[name]).astype(dtype, copy=False)
                feed.append((index, values[:, None] if rank == 2 and values.ndim == 1 else values))
            return feed
        feed = {}
        for name, (kind, rank) in self.specs.items():
            values = np.asarray(by_key[name.split(":")[0]])
            if kind == "tensor(string)":  # str, not bytes: onnxruntime reads bytes as "b'...'"
                text = [v.decode() if isinstance(v, bytes) else v for v in values.ravel().tolist()]
                values = np.array(text, dtype=object).reshape(values.shape)
            feed[name] = values[:, None] if rank == 2 and values.ndim == 1 else values
        return feed

    def __call__(self, feed):
        if self.fmt == "onnx":
            return self.session.run(None, feed)[0]
        interpreter = self.interpreter
        if any(self.shapes.get(index) != values.shape for index, values in feed):
            for index, values in feed:
                interpreter.resize_tensor_input(index, values.shape)
                self.shapes[index] = values.shape
            interpreter.allocate_tensors()
        for index, values in feed:
            interpreter.set_tensor(index, values)
        interpreter.invoke()
        return interpreter.get_tensor(self.output_index)


def load_path(name: str, workdir: str | os.PathLike):
    workdir = Path(workdir)
    if name.startswith("D:"):
        return Exported(workdir, name[2:])
    classes = {
        "A": SklearnKeras,
        "B": EmbeddedSavedModel,
        "B_frame": EmbeddedFromFrame,
        "B_packed": EmbeddedPacked,
        "C": OnnxRuntime,
        "bare": BareModel,
        "E": FastPath,
        "E_records": FastPathRecords,
        "K_call": KerasCall,
        "K_predict": KerasPredict,
    }
    return classes[name](workdir)
