"""What every command shares: the exit codes, the file-loading options, the one-line error."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..io import load_preprocessor

#: Exit codes.
EXIT_OK = 0
EXIT_PARITY_FAILED = 1
EXIT_BAD_INPUT = 2

EXIT_EPILOG = """\
exit status:
  0  success (verify: parity passed)
  1  verify: parity failed; doctor: problems found
  2  usage error or bad input (missing, corrupt, untrusted or wrong file; unfitted or
     unsupported preprocessor; DATA missing columns): one line on stderr says what to do"""


def loading_options() -> argparse.ArgumentParser:
    """The parent parser of the commands that load a preprocessor: ``--trust``, ``--allow-pickle``."""
    loading = argparse.ArgumentParser(add_help=False)
    loading.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="TYPE",
        help="trust this type when loading a skops file (repeatable); the refusal message lists "
        "the types a file needs",
    )
    loading.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load .pkl/.pickle/.joblib preprocessors; unpickling runs arbitrary code, so only "
        "for files you made yourself",
    )
    return loading


def load_preprocessor_file(path: str, args: argparse.Namespace, *, require_fitted: bool = True) -> Any:
    """Load a preprocessor with the ``--trust`` and ``--allow-pickle`` options of ``args``."""
    return load_preprocessor(
        path, trusted=args.trust, allow_pickle=args.allow_pickle, require_fitted=require_fitted
    )


def print_error(command: str | None, message: str) -> None:
    """``keras-embed-prep COMMAND: error: MESSAGE`` as one line on stderr."""
    prefix = f"keras-embed-prep {command}" if command else "keras-embed-prep"
    print(f"{prefix}: error: {' '.join(message.split())}", file=sys.stderr)
