"""Save/load drift: what a ``.keras`` save and reload changes (custom objects, ``Lambda`` layers,
weights, configs, dtypes, outputs), and the custom classes a saved file needs."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
import zipfile
from typing import Any

import keras
import numpy as np

from ..io import quote_error
from ..verify import compare
from ..walk import layers_by_path
from .report import RoundTrip
from .trace import predict, trace
from .words import g


def unregistered_custom_objects(path: str | os.PathLike) -> list[str]:
    """Custom classes a ``.keras`` file names that are not registered in this process.

    Parameters
    ----------
    path : str or path-like
        A ``.keras`` archive.

    Returns
    -------
    list of str
        Registered names (``"package>Class"``) Keras will not find at load time; empty when
        the file is not a readable ``.keras`` archive (loading it then says why).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return []
    customs, _ = _custom_objects(config)
    return sorted({name for name in customs if keras.saving.get_registered_object(name) is None})


def round_trip(model: keras.Model, feeds: Any, before: np.ndarray | None, n: int) -> RoundTrip:
    """Save ``model`` to a temporary ``.keras`` file, reload it, and say what changed."""
    trip = RoundTrip()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        try:
            model.save(path)
        except Exception as exc:  # noqa: BLE001 - get_config of custom layers raises anything
            trip.error = f"model.save failed ({quote_error(exc)})"
            return trip
        trip.saved = True
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        customs, lambdas = _custom_objects(config)
        trip.custom_objects = sorted(set(customs))
        trip.lambda_layers = sorted(set(lambdas))
        trip.missing_custom_objects = [
            name for name in trip.custom_objects if keras.saving.get_registered_object(name) is None
        ]
        loaded = _load(path, trip)
    if loaded is None:
        return trip
    trip.failed_layers, trip.dtype_changes = _layer_changes(model, loaded)
    if before is None:
        return trip
    try:
        after = predict(loaded, feeds, n)
    except Exception as exc:  # noqa: BLE001 - a reloaded model may fail in any way
        trip.error = f"the reloaded model fails on the rows ({quote_error(exc)})"
        trip.outputs_match = False
        return trip
    if after.shape != before.shape:
        trip.outputs_match = False
        trip.error = f"outputs of shape {before.shape} before, {after.shape} after"
        return trip
    report = compare(after, before)
    trip.outputs_match = report.passed
    trip.max_abs_diff = float(report.max_abs_error.max(initial=0.0))
    trip.nan_mismatches = int(report.nan_mismatches.sum())
    if not report.passed:
        trip.drift_layer = _first_difference(model, loaded, feeds, n)
    return trip


def _load(path: str, trip: RoundTrip) -> keras.Model | None:
    """Load with ``safe_mode=True``, else ``safe_mode=False``; how it went is written to ``trip``."""
    loaded = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            loaded = keras.saving.load_model(path, safe_mode=True)
            trip.safe_mode = True
        except Exception as exc:  # noqa: BLE001 - Keras raises ValueError, TypeError, ... here
            trip.safe_mode = False
            trip.error = f"safe_mode=True: {quote_error(exc)}"
            try:
                loaded = keras.saving.load_model(path, safe_mode=False)
                trip.needs_unsafe_mode = True
            except Exception as exc2:  # noqa: BLE001
                trip.error += f"; safe_mode=False: {quote_error(exc2)}"
    trip.load_warnings = sorted(
        {" ".join(str(w.message).split())[:300] for w in caught if "optimizer" not in str(w.message)}
    )
    return loaded


def _custom_objects(config: Any) -> tuple[list[str], list[str]]:
    """Registered names of non-Keras classes, and the paths of Lambda layers, in a saved config."""
    customs, lambdas = [], []
    if isinstance(config, dict):
        if "class_name" in config and "config" in config:
            module = config.get("module")
            name = config.get("registered_name") or config["class_name"]
            inner = config.get("config")
            layer_name = inner.get("name") if isinstance(inner, dict) else None
            keras_class = isinstance(module, str) and module.split(".")[0] in ("keras", "builtins")
            marker = str(config["class_name"]).startswith("__")  # __numpy__, __keras_tensor__, ...
            if not (keras_class or marker):
                customs.append(str(name))
            if config["class_name"] == "Lambda":
                lambdas.append(str(layer_name))
        values = list(config.values())
    elif isinstance(config, list):
        values = config
    else:
        values = []
    for value in values:
        c, lam = _custom_objects(value)
        customs += c
        lambdas += lam
    return customs, lambdas


def _layer_changes(before: keras.Model, after: keras.Model) -> tuple[list[str], list[str]]:
    """Per layer, what did not come back (missing, class, weights, attributes, config), and dtype changes."""
    failed, dtypes = [], []
    old, new = layers_by_path(before), layers_by_path(after)
    for path, layer in old.items():
        if path not in new:
            failed.append(f"{path} ({type(layer).__name__}): missing after the reload")
            continue
        other = new[path]
        if type(other).__name__ != type(layer).__name__:
            failed.append(f"{path}: {type(layer).__name__} came back as {type(other).__name__}")
        a, b = getattr(layer, "dtype_policy", None), getattr(other, "dtype_policy", None)
        if a is not None and b is not None and a.name != b.name:
            dtypes.append(f"{path}: {a.name} -> {b.name}")
        failed += _restored(path, layer, other)
    for kind, x, y in (("input", before.inputs, after.inputs), ("output", before.outputs, after.outputs)):
        for i, (t0, t1) in enumerate(zip(x, y, strict=False)):
            if str(t0.dtype) != str(t1.dtype):
                dtypes.append(f"model {kind} {i}: {t0.dtype} -> {t1.dtype}")
    return failed, dtypes


def _restored(path: str, layer: Any, other: Any) -> list[str]:
    """What of one layer the reload did not restore: its weights, plain attributes, config."""
    failed = []
    what = f"{path} ({type(layer).__name__})"
    w0, w1 = layer.get_weights(), other.get_weights()
    if len(w0) != len(w1) or any(x.shape != y.shape for x, y in zip(w0, w1, strict=False)):
        failed.append(f"{what}: {len(w0)} weights before, {len(w1)} after")
    else:
        diff = max(
            (float(np.max(np.abs(x - y), initial=0.0)) for x, y in zip(w0, w1, strict=True)), default=0.0
        )
        if diff > 0:
            failed.append(f"{what}: weights changed (max |diff| {g(diff)})")
    if not type(layer).__module__.startswith("keras"):
        lost = _attribute_changes(layer, other)
        if lost:
            failed.append(f"{what}: {lost}")
    if isinstance(layer, keras.layers.Lambda):
        return failed  # its config holds the function's bytecode, never equal after a reload
    try:
        c0, c1 = layer.get_config(), other.get_config()
    except Exception:  # noqa: BLE001 - a custom get_config may raise anything; configs are evidence only
        return failed
    changed = sorted(
        k for k in set(c0) | set(c1) if k != "name" and _config_text(c0.get(k)) != _config_text(c1.get(k))
    )
    if changed:
        failed.append(f"{what}: config changed in {changed}")
    return failed


def _attribute_changes(layer: Any, other: Any) -> str:
    """Plain attributes (numbers, text) of a custom layer that the reload did not restore.

    The classic bug: ``__init__`` stores an argument that ``get_config`` leaves out, so
    the reloaded layer silently falls back to the default.
    """
    plain = (bool, int, float, str, type(None))
    changed = []
    for key, value in vars(layer).items():
        if key.startswith("_") or not isinstance(value, plain):
            continue
        new = vars(other).get(key)
        if isinstance(new, plain) and new != value:
            changed.append(f"{key}={value!r} came back as {new!r}")
    return (
        ("attributes not restored: " + ", ".join(changed[:5]) + " (return them from get_config)")
        if changed
        else ""
    )


def _config_text(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _first_difference(model: keras.Model, loaded: keras.Model, feeds: Any, n: int) -> str | None:
    """The first layer whose outputs differ after the reload."""
    try:
        old, new = trace(model, feeds, n), {s.path: s for s in trace(loaded, feeds, n)}
    except Exception:  # noqa: BLE001 - the drift itself is already reported
        return None
    for step in old:
        other = new.get(step.path)
        if other is None:
            return step.path
        for a, b in zip(step.outputs, other.outputs, strict=False):
            if (
                a.dtype.kind in "fc"
                and a.shape == b.shape
                and not compare(b.reshape(n, -1), a.reshape(n, -1)).passed
            ):
                return step.path
    return None
