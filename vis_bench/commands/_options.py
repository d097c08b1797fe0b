"""Arguments several commands share, so they read and behave the same everywhere."""

from __future__ import annotations

import argparse


def add_override_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`--set KEY=VALUE` (repeatable) into `args.overrides`, applied by `read_yaml_config`."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=help_text,
    )
