"""`python -m tools COMMAND ...`: the repository's own commands (see tools/__init__.py).

Each command is a module of this package with `NAME`, `HELP`, `add_arguments(parser)` and
`run(args) -> int`, as the package's commands are; errors print as vis-bench's do (exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from vis_bench.errors import VisBenchError

#: the repository's commands, each a module of this package
COMMANDS = ("docs", "pictures")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools", description="vis-bench's repository tooling (needs a checkout)."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = {}
    for name in COMMANDS:
        module = importlib.import_module(f"tools.{name}")
        module.add_arguments(sub.add_parser(module.NAME, help=module.HELP, description=module.HELP))
        modules[module.NAME] = module
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except VisBenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
