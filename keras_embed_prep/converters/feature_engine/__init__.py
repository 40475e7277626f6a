"""Converters of the feature-engine package, written through the public ``register_converter`` as a
third party would; importing this package registers them (only done where feature-engine imports)."""

from . import encoding, numeric  # noqa: F401
