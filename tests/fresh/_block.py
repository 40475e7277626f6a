"""Make keras_embed_prep unimportable in this process (it is installed in the venv).

Imported first by the fresh-process scripts: what they load must work for someone
who never installed this package.
"""

import sys


class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "keras_embed_prep" or name.startswith("keras_embed_prep."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked for this test)")
        return None


_BLOCK = _Block()
sys.meta_path.insert(0, _BLOCK)


def unblock() -> None:
    """Let keras_embed_prep import again (for the models that need its custom layers)."""
    sys.meta_path.remove(_BLOCK)


try:
    import keras_embed_prep  # noqa: F401
except ModuleNotFoundError:
    pass
else:  # pragma: no cover - the proof would be void
    sys.exit("keras_embed_prep is importable; the fresh-process proof is void")
