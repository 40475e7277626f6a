"""``keras-embed-prep demo``: run :mod:`keras_embed_prep.demo`, the NaN-after-load story and its fix."""

from __future__ import annotations

import argparse

NAME = "demo"
LOADS_PREPROCESSOR = False
HELP = "the NaN-after-load story and its fix, on scikit-learn's breast-cancer data"
DESCRIPTION = "Run keras_embed_prep.demo: train, ship without the scaler, embed, reload, verify."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="directory for the artifacts (default: demo_output)")


def run(args: argparse.Namespace) -> int:
    from .. import demo  # imported when run: the other commands do not load it

    return demo.main(["--out", args.out] if args.out else [])
