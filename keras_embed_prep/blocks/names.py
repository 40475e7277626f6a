"""Unique names for the layers the blocks build (one counter for the whole package)."""

from __future__ import annotations

import itertools

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """``prefix_N`` with an ``N`` no other layer built in this process has used."""
    return f"{prefix}_{next(_counter)}"
