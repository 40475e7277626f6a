"""Tests of keras_embed_prep.doctor, one module per doctor module they exercise."""
