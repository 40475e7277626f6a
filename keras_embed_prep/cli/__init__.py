"""The ``keras-embed-prep`` command line (reference: docs/cli.md); one module per command."""

from .app import main

__all__ = ["main"]
