"""Shared helpers: fitting parity cases and proving artifacts in fresh processes."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_embed_prep import export, signature_keys, to_inputs  # noqa: E402
from keras_embed_prep.verify import reference_transform  # noqa: E402

FRESH = pathlib.Path(__file__).parent / "fresh"


def fit_case(case):
    """The fitted estimator and the raw test data (array or DataFrame) of a parity case."""
    X_fit, X_test = case.dataset()
    estimator = case.make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Skipping features without any observed values", ...
        if case.fit_y is None:
            estimator.fit(X_fit)
        else:
            estimator.fit(X_fit, case.fit_y(X_fit))
    return estimator, X_test


def sklearn_reference(estimator, X):
    """scikit-learn's output on exactly the values the converted model receives (float32-rounded)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reference_transform(estimator, X)


def model_inputs(X, model):
    """What the converted model takes, as numpy arrays (text as unicode) that survive np.save."""

    def plain(v):
        v = v.numpy() if hasattr(v, "numpy") else v
        return np.char.decode(v.astype(bytes), "utf-8") if v.dtype == object else v

    inputs = to_inputs(X, model)
    if isinstance(inputs, dict):
        return {k: plain(v) for k, v in inputs.items()}
    return plain(inputs)


def write_artifact(directory: pathlib.Path, model, inputs, *, savedmodel: bool = True) -> None:
    """Save ``model`` as .keras and (unless told not to) SavedModel, with inputs to replay afresh."""
    directory.mkdir(parents=True)
    model.save(directory / "model.keras")
    if "keras_embed_prep>" in model.to_json():  # a registered custom layer: loads with the package
        (directory / "needs_package").touch()
    if savedmodel:
        export(model, directory / "savedmodel")
    (directory / "signature.json").write_text(json.dumps(signature_keys(model)))
    if isinstance(inputs, dict):
        np.savez(directory / "inputs.npz", **inputs)
    else:
        np.savez(directory / "inputs.npz", __array__=inputs)


def run_fresh(script: str, root: pathlib.Path) -> None:
    """Run tests/fresh/<script> ROOT in a new interpreter, outside the repository."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run(
        [sys.executable, str(FRESH / script), str(root)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        pytest.fail(f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
