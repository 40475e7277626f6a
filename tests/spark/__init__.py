"""Tests of keras_embed_prep.spark on a local Spark session: a package, so its conftest is its own."""
