"""``export(..., format="onnx")``: parity with Keras and the SavedModel, refusals by name, kept checks."""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import MissingIndicator
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from keras_embed_prep import embed, export, signature_keys, to_inputs, to_keras
from keras_embed_prep.errors import ExportError, InputError, MissingDependencyError
from keras_embed_prep.verify import ATOL, RTOL, compare

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")
driver = importlib.import_module("keras_embed_prep.export.onnx.driver")
probes = importlib.import_module("keras_embed_prep.export.probes")


def _session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 4  # the failures asked for below would be logged as errors
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _feed(model, X):
    """What onnxruntime takes: to_inputs by signature key, text as str (not bytes)."""
    inputs = to_inputs(X, model)
    inputs = inputs if isinstance(inputs, dict) else {model.inputs[0].name: inputs}
    keys = signature_keys(model)
    feed = {}
    for name, value in inputs.items():
        array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
        if array.dtype.kind in "OS":
            array = np.array([v.decode() for v in array.ravel().tolist()], dtype=object).reshape(array.shape)
        feed[keys[name]] = array
    return feed


@pytest.fixture(scope="module")
def numeric():
    """StandardScaler + PCA + MLP on a numpy array, with a test set that has NaN and outliers."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)) * [1, 10, 100, 1e-3, 1, 1e6]
    preprocessor = make_pipeline(StandardScaler(), PCA(n_components=4)).fit(X)
    mlp = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)]
    )
    test = rng.normal(size=(200, 6)) * [1, 10, 100, 1e-3, 1, 1e6]
    test[::17, 2] = np.nan
    test[::23, 0] = 1e20
    return embed(mlp, preprocessor), test


def test_numeric_pipeline_matches_keras_and_savedmodel(numeric, tmp_path):
    import tensorflow as tf

    full, test = numeric
    report = export(full, tmp_path / "model.onnx", format="onnx")
    assert report.passed and report.rows >= 64

    export(full, tmp_path / "savedmodel")  # the default format, unchanged
    serve = tf.saved_model.load(str(tmp_path / "savedmodel")).signatures["serving_default"]
    served = serve(features=tf.constant(to_inputs(test, full)))["output_0"].numpy()
    ours = _session(tmp_path / "model.onnx").run(None, _feed(full, test))[0]
    keras_out = np.asarray(full(to_inputs(test, full)))
    assert compare(ours, keras_out, rtol=RTOL, atol=ATOL).passed
    finite = ~np.isnan(test).any(axis=1)  # TF's fused Dense+ReLU turns NaN into 0 in graph mode
    assert compare(ours[finite], served[finite], rtol=RTOL, atol=ATOL).passed


def test_sample_rows_are_the_parity_check(numeric, tmp_path):
    full, test = numeric
    report = export(full, tmp_path / "model.onnx", format="onnx", sample=test)
    assert report.passed and report.rows == len(test)


def test_op_without_onnx_translation_is_refused_by_name(tmp_path):
    X = np.abs(np.random.default_rng(1).normal(size=(50, 3)))
    model = to_keras(FunctionTransformer(np.log1p).fit(X))
    with pytest.raises(ExportError, match=r"no ONNX translation: Log1p"):
        export(model, tmp_path / "model.onnx", format="onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_parity_failure_names_the_worst_column(numeric, tmp_path, monkeypatch):
    full, _ = numeric
    eager = probes.eager_outputs

    def shifted(model, rows):  # a Keras side that the ONNX file cannot match in column 1
        out = eager(model, rows)
        out["output_0"][:, 1] += 1.0
        return out

    monkeypatch.setattr(probes, "eager_outputs", shifted)
    with pytest.raises(ExportError, match=r"worst column output_0\[1\], max abs error 1"):
        export(full, tmp_path / "model.onnx", format="onnx")
    assert not (tmp_path / "model.onnx").exists()


def _frame(n, seed):
    """``size`` never missing, ``weight`` missing in every 10th row, ``color`` of three values."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=n)
    weight[::10] = np.nan
    return pd.DataFrame(
        {"size": rng.normal(size=n), "weight": weight, "color": rng.choice(["red", "green", "blue"], n)}
    )


@pytest.mark.parametrize(
    ("make", "bad", "reason"),
    [
        (
            lambda: ColumnTransformer(
                [("num", StandardScaler(), ["size"]), ("cat", OneHotEncoder(), ["color"])]
            ),
            pd.DataFrame({"size": [0.0, 1.0], "weight": [1.0, 1.0], "color": ["red", "purple"]}),
            "OneHotEncoder_handle_unknown_error_unknown_category",
        ),
        (
            lambda: ColumnTransformer([("miss", MissingIndicator(error_on_new=True), ["size", "weight"])]),
            pd.DataFrame({"size": [0.0, np.nan], "weight": [np.nan, 1.0], "color": ["red", "red"]}),
            "MissingIndicator_error_on_new_True",
        ),
    ],
    ids=["onehot-error", "missing-indicator-error-on-new"],
)
def test_checks_keep_failing_in_onnx(make, bad, reason, tmp_path):
    preprocessor = make().fit(_frame(120, 2))
    model = to_keras(preprocessor)
    export(model, tmp_path / "model.onnx", format="onnx", sample=_frame(40, 3))
    session = _session(tmp_path / "model.onnx")
    good = bad.iloc[:1]
    expected = preprocessor.transform(good)
    assert compare(session.run(None, _feed(model, good))[0], expected, rtol=RTOL, atol=ATOL).passed
    with pytest.raises(Exception, match=reason):  # onnxruntime's error names the check
        session.run(None, _feed(model, bad))


def test_missing_optional_dependency_says_what_to_install(numeric, tmp_path, monkeypatch):
    real = driver._import_optional

    def without_tf2onnx(name):
        if name == "tf2onnx":
            raise ImportError("No module named 'tf2onnx'")
        return real(name)

    monkeypatch.setattr(driver, "_import_optional", without_tf2onnx)
    with pytest.raises(MissingDependencyError, match=r"pip install keras-embed-prep\[onnx\]"):
        export(numeric[0], tmp_path / "model.onnx", format="onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_unknown_format_is_refused(numeric, tmp_path):
    with pytest.raises(InputError, match="'format' parameter of export must be one of"):
        export(numeric[0], tmp_path / "model.mlmodel", format="coreml")


@pytest.mark.parametrize("index", ["direct", "search"])
def test_category_lookups_and_column_stacks_stay_small_and_exact(tmp_path, monkeypatch, index):
    """One-hot text columns: the flat index is one gather (or, past the direct table's size,
    one search in a table of counts); the stack of 1-D inputs three nodes."""
    import onnx

    if index == "search":
        categories = importlib.import_module("keras_embed_prep.blocks.categories")
        monkeypatch.setattr(categories, "_DIRECT_ENTRIES", 0)
        monkeypatch.setattr(categories, "_DIRECT_PER_CATEGORY", 0)

    preprocessor = ColumnTransformer(
        [
            ("num", StandardScaler(), ["size", "weight"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["color", "shade"]),
        ]
    )
    train = _frame(200, 4).assign(shade=lambda f: f["color"].str[:2] + f["size"].gt(0).astype(str))
    preprocessor.fit(train.fillna(0.0))
    model = to_keras(preprocessor)
    test = _frame(60, 5).fillna(0.0).assign(shade="re" + pd.Series(np.arange(60) % 3, dtype=str))
    test.loc[::7, "color"] = "purple"  # unknown: ignored, an all-zero block
    export(model, tmp_path / "model.onnx", format="onnx", sample=test)
    got = _session(tmp_path / "model.onnx").run(None, _feed(model, test))[0]
    assert compare(got, preprocessor.transform(test), rtol=RTOL, atol=ATOL).passed
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    ops = [n.op_type for n in graph.node]
    inputs = {i.name for i in graph.input}
    assert "LessOrEqual" not in ops  # never a binary search
    producer = {out: n for n in graph.node for out in n.output}
    selects = [producer.get(n.input[1]) for n in graph.node if n.op_type == "Gather"]
    conditions = [producer.get(w.input[0]) for w in selects if w is not None and w.op_type == "Where"]
    assert not [c for c in conditions if c is not None and c.op_type == "Less"]  # no index wrap left
    assert ("Clip" in ops) == (index == "search")  # the table of counts only where there is a search
    assert not [n for n in graph.node if n.op_type == "Unsqueeze" and n.input[0] in inputs]


@pytest.mark.parametrize("length", [5, 4])
def test_dropped_gather_wrap_gives_the_same_rows(length):
    """Keras' wrap of negative indices before a gather is dropped only where ONNX's Gather wraps alike."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    tidy = importlib.import_module("keras_embed_prep.export.onnx.tidy")
    data = np.arange(5 * 3, dtype=np.float32).reshape(5, 3)
    nodes = [
        helper.make_node("Cast", ["i"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Less", ["f", "zero"], ["negative"]),
        helper.make_node("Add", ["i", "n"], ["wrapped"]),
        helper.make_node("Where", ["negative", "wrapped", "i"], ["index"]),
        helper.make_node("Gather", ["data", "index"], ["out"], axis=0),
    ]
    constants = [
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(length, dtype=np.int64), "n"),
        numpy_helper.from_array(data, "data"),
    ]
    graph = helper.make_graph(
        nodes,
        "wrap",
        [helper.make_tensor_value_info("i", TensorProto.INT64, [None])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 3])],
        constants,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    before = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    index = np.array([-4, -1, 0, 3], dtype=np.int64)
    expected = before.run(None, {"i": index})[0]
    tidied = tidy.gather_wraps(onnx.load_from_string(proto.SerializeToString()))
    after = ort.InferenceSession(tidied.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(after.run(None, {"i": index})[0], expected)
    kinds = [n.op_type for n in tidied.graph.node]
    # The wrap is dropped only when it adds the gathered axis' length (5); adding 4 is kept.
    assert kinds == (["Gather"] if length == 5 else [n.op_type for n in nodes])


@pytest.mark.parametrize("side", ["left", "right"])
def test_direct_counts_are_numpy_searchsorted(side):
    handlers = importlib.import_module("keras_embed_prep.export.onnx.handlers")
    keys = np.array([-7, -3, 0, 0, 2, 9, 40], dtype=np.int64)
    first, counts = handlers._direct_counts(keys, "Less" if side == "left" else "LessOrEqual", np.int64)
    values = np.arange(-20, 60, dtype=np.int64)
    looked_up = counts[np.clip(values, first, first + counts.size - 1) - first]
    np.testing.assert_array_equal(looked_up, np.searchsorted(keys, values, side=side))
    assert handlers._direct_counts(np.array([0, 2**40]), "Less", np.int64) is None  # too wide a range
    assert handlers._direct_counts(np.array([0.5, 2.0]), "Less", np.int64) is None  # float keys
