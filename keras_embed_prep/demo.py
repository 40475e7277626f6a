"""``make demo``: the NaN-after-load story, and its fix, on scikit-learn's breast-cancer data.

1. Fit a scaler pipeline and train a small Keras model on its output.
2. Save the model alone, as usually happens, reload it and feed it raw data: it mispredicts.
3. ``embed`` the pipeline, save one ``.keras`` file and a SavedModel.
4. Reload the ``.keras`` file in a fresh process (``safe_mode=True``), feed raw data,
   and print the parity report against ``model(pipeline.transform(X))``.

Run with ``python -m keras_embed_prep.demo [--out DIR]``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import textwrap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

_FRESH_LOAD = textwrap.dedent(
    """
    import sys, numpy as np, keras
    model = keras.saving.load_model(sys.argv[1], safe_mode=True)
    X = np.load(sys.argv[2])
    np.save(sys.argv[3], model.predict(X, verbose=0))
    """
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keras-embed-prep demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default="demo_output", help="directory for the artifacts (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import keras
    from sklearn.datasets import load_breast_cancer
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import embed, export
    from .verify import as_served, compare

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    X_test = X_test.copy()
    X_test[::9, 3] = np.nan  # a few missing values at serving time; the imputer handles them

    print("1. Fit SimpleImputer + StandardScaler, train a Keras model on the scaled data")
    pipeline = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit(X_train)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(X.shape[1],)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    model.fit(pipeline.transform(X_train).astype(np.float32), y_train, epochs=30, batch_size=32, verbose=0)
    expected = model.predict(pipeline.transform(as_served(X_test)).astype(np.float32), verbose=0)
    print(f"   accuracy with the pipeline applied: {np.mean((expected[:, 0] > 0.5) == y_test):.3f}")

    print("2. Ship the model without its scaler: save, reload, feed raw data")
    model.save(out / "model_without_scaler.keras")
    reloaded = keras.saving.load_model(out / "model_without_scaler.keras")
    raw = reloaded.predict(X_test.astype(np.float32), verbose=0)
    print(
        f"   accuracy on raw data: {np.mean((raw[:, 0] > 0.5) == y_test):.3f}; "
        f"NaN predictions: {int(np.isnan(raw).sum())} of {len(raw)}; "
        f"max |error| vs the real predictions: {np.nanmax(np.abs(raw - expected)):.3f}"
    )

    print("3. embed(model, pipeline): one artifact, raw data in, prediction out")
    full = embed(model, pipeline)
    full.save(out / "model.keras")
    export(full, out / "savedmodel")
    print(f"   wrote {out / 'model.keras'} and {out / 'savedmodel'}")

    print("4. Reload model.keras in a fresh process with safe_mode=True, feed raw data")
    np.save(out / "raw_test.npy", X_test.astype(np.float32))
    subprocess.run(
        [
            sys.executable,
            "-c",
            _FRESH_LOAD,
            str(out / "model.keras"),
            str(out / "raw_test.npy"),
            str(out / "pred.npy"),
        ],
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    report = compare(np.load(out / "pred.npy"), expected, columns=["probability"])
    print(f"   accuracy: {np.mean((np.load(out / 'pred.npy')[:, 0] > 0.5) == y_test):.3f}")
    print(textwrap.indent(str(report), "   "))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
