"""The command line as a whole: the parser built from each command's fragment, dispatch, exit codes."""

from __future__ import annotations

import argparse

from .. import __version__
from ..errors import KerasEmbedPrepError
from . import demo, doctor, embed, inspect, verify
from .common import EXIT_BAD_INPUT, EXIT_EPILOG, loading_options, print_error

#: The commands, in the order ``--help`` lists them. Each module holds its NAME, HELP, DESCRIPTION,
#: LOADS_PREPROCESSOR (takes ``--trust`` and ``--allow-pickle``), ``add_arguments`` and ``run``.
COMMANDS = (embed, verify, inspect, doctor, demo)


def build_parser() -> argparse.ArgumentParser:
    """``keras-embed-prep`` with one subparser per module of :data:`COMMANDS`."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="keras-embed-prep",
        description="Fitted scikit-learn preprocessing as Keras layers inside the model.",
        epilog=EXIT_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    loading = loading_options()
    for command in COMMANDS:
        sub = subparsers.add_parser(
            command.NAME,
            parents=[loading] if command.LOADS_PREPROCESSOR else [],
            help=command.HELP,
            description=command.DESCRIPTION,
            epilog=EXIT_EPILOG,
            formatter_class=formatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit code: 0 success, 1 parity failed (``verify``) or problems found (``doctor``),
        2 usage error or bad input.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return args.run(args)
    except KerasEmbedPrepError as exc:
        print_error(args.command, str(exc))
    except OSError as exc:  # unreadable or unwritable paths
        where = f"{exc.filename}: " if exc.filename else ""
        print_error(args.command, f"{where}{exc.strerror or exc}")
    return EXIT_BAD_INPUT
