"""``checks="nan"``: rows scikit-learn refuses come out NaN in every output column, on TensorFlow here.

tests/test_backends.py replays every numeric case with a check on JAX (eager and under
``jax.jit``); these are the fast in-process checks of the option, of what sits after the check
(other branches, an imputer, the network, a target decoder) and of the exports.
"""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    LabelBinarizer,
    LabelEncoder,
    OneHotEncoder,
    PowerTransformer,
    StandardScaler,
)

from keras_embed_prep import embed, export, to_keras, verify
from keras_embed_prep.blocks.checks import check_reasons
from keras_embed_prep.errors import InputError, UnsupportedParameterError
from keras_embed_prep.verify import as_served, compare

#: Output width of :func:`_preprocessor`: 2 bins, 1 scaled, 3 one-hot columns.
WIDTH = 6


def _data():
    """Positive rows to fit on, and test rows of which 3 and 5 are refused by box-cox (x <= 0)."""
    rng = np.random.default_rng(0)
    fit = np.abs(rng.normal(size=(60, 4))) + 0.1
    fit[:, 3] = rng.integers(0, 3, size=60)
    test = np.abs(rng.normal(size=(12, 4))) + 0.1
    test[:, 3] = rng.integers(0, 3, size=12)
    test[3, 0], test[5, 1] = -1.0, 0.0
    return fit, test


def _preprocessor(fit):
    """A box-cox branch followed by an imputer and bins (which would turn a NaN into a number),
    beside a branch without checks, and a one-hot branch of integer categories."""
    return ColumnTransformer(
        [
            (
                "power",
                make_pipeline(
                    PowerTransformer(method="box-cox"),
                    SimpleImputer(),
                    KBinsDiscretizer(n_bins=3, encode="ordinal", quantile_method="averaged_inverted_cdf"),
                ),
                [0, 1],
            ),
            ("scale", StandardScaler(), [2]),
            ("onehot", OneHotEncoder(sparse_output=False), [3]),
        ]
    ).fit(fit)


def _rowwise(preprocessor, X):
    """scikit-learn row by row: its output with NaN rows where it raises, and the mask of those rows."""
    rows, raised = [], []
    for row in as_served(X):
        try:
            rows.append(np.asarray(preprocessor.transform(row[None]), dtype=np.float64))
            raised.append(False)
        except ValueError:
            rows.append(None)
            raised.append(True)
    width = next(r.shape[1] for r in rows if r is not None)
    out = np.concatenate([np.full((1, width), np.nan) if r is None else r for r in rows])
    return out, np.asarray(raised)


def test_to_keras_nan_rows_exactly_where_sklearn_raises():
    fit, test = _data()
    pre = _preprocessor(fit)
    expected, raised = _rowwise(pre, test)
    assert raised.tolist() == [i in (3, 5) for i in range(len(test))]
    model = to_keras(pre, checks="nan")
    assert '"StringLookup"' not in model.to_json() and not check_reasons(model)
    got = np.asarray(model(test.astype(np.float32)))
    assert np.isnan(got[raised]).all()  # every column, the check-free branches too
    assert not np.isnan(got[~raised]).any()
    assert compare(got[~raised], expected[~raised].astype(np.float32)).passed
    raising = to_keras(pre)  # the default: the call fails, saying why
    assert "box-cox" in "; ".join(check_reasons(raising).values())
    with pytest.raises(Exception, match="strictly positive"):
        raising(test.astype(np.float32))


def test_checks_option_is_checked_by_name():
    fit, _ = _data()
    with pytest.raises(UnsupportedParameterError, match=r"to_keras\(checks=...\).*'maybe'"):
        to_keras(_preprocessor(fit), checks="maybe")
    net = keras.Sequential([keras.Input((WIDTH,)), keras.layers.Dense(2)])
    with pytest.raises(UnsupportedParameterError, match=r"embed\(checks=...\)"):
        embed(net, _preprocessor(fit), checks=True)


def _network(width, units, activation):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((width,)), keras.layers.Dense(units, activation=activation)])


@pytest.mark.parametrize("fuse_one_hot", [True, False], ids=["fused", "unfused"])
def test_embed_nan_rows_survive_relu_and_fused_one_hot(fuse_one_hot):
    fit, test = _data()
    pre = _preprocessor(fit)
    expected, raised = _rowwise(pre, test)
    net = _network(expected.shape[1], 3, "relu")  # relu(NaN) could be 0: the NaN is set after it
    full = embed(net, pre, checks="nan", fuse_one_hot=fuse_one_hot)
    got = np.asarray(full(test.astype(np.float32)))
    assert np.isnan(got[raised]).all() and not np.isnan(got[~raised]).any()
    reference = np.asarray(net(expected[~raised].astype(np.float32)))
    assert compare(got[~raised], reference).passed


@pytest.mark.parametrize(
    "target",
    [LabelEncoder().fit([1, 2, 3]), LabelBinarizer().fit([0, 1]), LabelEncoder().fit(["a", "b", "c"])],
    ids=["int-argmax", "int-threshold", "text"],
)
def test_decoder_label_that_cannot_be_nan_is_refused(target):
    fit, _ = _data()
    units = 1 if isinstance(target, LabelBinarizer) else 3
    net = _network(WIDTH, units, "sigmoid" if units == 1 else "softmax")
    with pytest.raises(UnsupportedParameterError, match="'label'.*cannot be NaN"):
        embed(net, _preprocessor(fit), target=target, checks="nan")
    embed(net, _preprocessor(fit), target=target)  # checks="raise": the row fails instead


def test_decoder_float_label_and_regression_target_come_out_nan():
    fit, test = _data()
    pre = _preprocessor(fit)
    expected, raised = _rowwise(pre, test)
    classes = LabelEncoder().fit([0.5, 1.5, 2.5])
    full = embed(_network(WIDTH, 3, "softmax"), pre, target=classes, checks="nan")
    out = {k: np.asarray(v) for k, v in full(test.astype(np.float32)).items()}
    assert np.isnan(out["label"][raised]).all() and np.isnan(out["probabilities"][raised]).all()
    assert np.isin(out["label"][~raised], classes.classes_).all()
    y_scaler = StandardScaler().fit(np.arange(10.0)[:, None])
    net = _network(WIDTH, 1, None)
    regression = embed(net, pre, target=y_scaler, checks="nan")
    got = np.asarray(regression(test.astype(np.float32)))
    assert np.isnan(got[raised]).all()
    want = y_scaler.inverse_transform(np.asarray(net(expected[~raised].astype(np.float32))))
    assert compare(got[~raised], want.astype(np.float32)).passed


def test_verify_reports_nan_rows_where_sklearn_raises():
    fit, test = _data()
    pre = _preprocessor(fit)
    report = verify(pre, to_keras(pre, checks="nan"), test)
    assert report.passed, str(report)
    with pytest.raises(InputError, match="refuses some rows of X, where scikit-learn raises too"):
        verify(pre, to_keras(pre), test)
    fit_shift = fit.copy()
    fit_shift[:, 2] += 3.0
    assert not verify(pre, to_keras(_preprocessor(fit_shift), checks="nan"), test).passed  # can fail


def test_verify_on_jax_refuses_raise_mode_naming_its_checks(tmp_path):
    pytest.importorskip("jax")
    fit, test = _data()
    pre = _preprocessor(fit)
    with pytest.raises(InputError, match=r"box-cox.*checks='nan'.*SavedModel"):
        verify(pre, to_keras(pre), test, backend="jax")


def test_exports_of_a_nan_model_keep_the_nan_rows(tmp_path):
    fit, test = _data()
    pre = _preprocessor(fit)
    expected, raised = _rowwise(pre, test)
    full = embed(_network(WIDTH, 2, "tanh"), pre, checks="nan")
    export(full, tmp_path / "served")
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        "f = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "x = np.load(sys.argv[2]).astype('float32')\n"
        "out = list(f(**{list(f.structured_input_signature[1])[0]: tf.constant(x)}).values())[0]\n"
        "np.save(sys.argv[3], out.numpy())\n"
    )
    np.save(tmp_path / "x.npy", test)
    subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(tmp_path / "served"),
            str(tmp_path / "x.npy"),
            str(tmp_path / "y"),
        ],
        check=True,
        capture_output=True,
    )
    served = np.load(tmp_path / "y.npy")
    assert np.isnan(served[raised]).all() and not np.isnan(served[~raised]).any()
    assert compare(served, np.asarray(full(test.astype(np.float32)))).passed
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    # ONNX has no Expm1 (box-cox): an unknown integer category is the check here (row 4).
    onehot = ColumnTransformer(
        [("scale", StandardScaler(), [0, 1, 2]), ("onehot", OneHotEncoder(sparse_output=False), [3])]
    ).fit(fit)
    test = test.copy()
    test[4, 3] = 7.0
    expected, raised = _rowwise(onehot, test)
    assert raised.tolist() == [i == 4 for i in range(len(test))]
    full = embed(_network(WIDTH, 2, "tanh"), onehot, checks="nan")
    served = np.asarray(full(test.astype(np.float32)))
    export(full, tmp_path / "model.onnx", format="onnx", sample=test)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    onnx_out = session.run(None, {session.get_inputs()[0].name: test.astype(np.float32)})[0]
    assert np.isnan(onnx_out[raised]).all() and not np.isnan(onnx_out[~raised]).any()
    assert compare(onnx_out[~raised], served[~raised]).passed


def test_cli_embed_checks_nan_writes_a_model_without_lookups(tmp_path, capsys):
    import skops.io

    from keras_embed_prep.cli import main

    fit, test = _data()
    pre = _preprocessor(fit)
    expected, raised = _rowwise(pre, test)
    net = _network(WIDTH, 2, "tanh")
    net.save(tmp_path / "model.keras")
    skops.io.dump(pre, tmp_path / "pre.skops")
    argv = ["embed", str(tmp_path / "model.keras"), str(tmp_path / "pre.skops"), "-o"]
    assert main([*argv, str(tmp_path / "nan.keras"), "--checks", "nan"]) == 0
    assert main([*argv, str(tmp_path / "raise.keras")]) == 0
    capsys.readouterr()
    loaded = keras.saving.load_model(tmp_path / "nan.keras", safe_mode=True)
    assert '"StringLookup"' not in loaded.to_json()
    assert '"StringLookup"' in keras.saving.load_model(tmp_path / "raise.keras").to_json()
    got = np.asarray(loaded(test.astype(np.float32)))
    assert np.isnan(got[raised]).all()
    assert compare(got[~raised], np.asarray(net(expected[~raised].astype(np.float32)))).passed
