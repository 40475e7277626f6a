"""One local Spark session per pytest worker (``local[2]``, started once), and the shared dataset."""

from __future__ import annotations

import os
import sys

import pytest

pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="session")
def spark():
    """A ``local[2]`` SparkSession whose Python workers run this interpreter.

    Tuned for many jobs on a few dozen rows, which is all the tests run: the JVM compiles with C1
    only and collects with the serial GC, and Spark neither generates whole-stage code nor
    re-plans adaptively. That halves starting the session and fitting the pipelines; Spark's
    output is the same to the bit (its interpreted and generated code compute the same thing).
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("keras-embed-prep-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def spark_columns(frame) -> dict:
    """A Spark DataFrame as numpy arrays: vectors ``(rows, n)``, numbers ``(rows, 1)`` (null: NaN)."""
    import numpy as np
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    vectors = {f.name for f in frame.schema.fields if isinstance(f.dataType, VectorUDT)}
    text = {f.name for f in frame.schema.fields if isinstance(f.dataType, StringType)}
    columns = [vector_to_array(c).alias(c) if c in vectors else F.col(c) for c in frame.columns]
    pdf = frame.select(*columns).toPandas()
    out = {}
    for c in pdf.columns:
        if c in vectors:
            out[c] = np.stack([np.asarray(v, dtype=np.float64) for v in pdf[c]])
        elif c not in text:
            out[c] = pdf[c].to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
    return out


@pytest.fixture(scope="session")
def fitted(spark):
    """``{"keep" | "error": (PipelineModel, raw test rows (pandas), Spark's output by column)}``."""
    from pyspark.ml import Pipeline

    from .spark_data import clean_rows, dirty_rows, fit_rows, spark_frame
    from .spark_pipelines import error_stages, keep_stages

    train = spark_frame(spark, fit_rows()).cache()
    out = {}
    for name, stages, rows in (
        ("keep", keep_stages(), dirty_rows()),
        ("error", error_stages(), clean_rows()),
    ):
        model = Pipeline(stages=stages).fit(train)
        out[name] = (model, rows, spark_columns(model.transform(spark_frame(spark, rows))))
    return out
