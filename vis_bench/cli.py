"""Command-line interface: one subcommand per module in `vis_bench.commands`.

Each command module defines `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`.
Discovering them keeps this file free of per-command imports, so commands stay independent.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from vis_bench.errors import VisBenchError

DEFAULT_COMMAND = "run"


def _command_modules() -> list[ModuleType]:
    import vis_bench.commands as package

    modules = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return modules


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="run_bench.py",
        description="vis-bench: benchmark and evaluation harness for video instance segmentation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands: dict[str, ModuleType] = {}
    for module in _command_modules():
        command_parser = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
        commands[module.NAME] = module
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the chosen command; with no command, run the default sweep if present."""
    parser, commands = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv and DEFAULT_COMMAND in commands:
        argv = [DEFAULT_COMMAND]
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(commands[args.command].run(args) or 0)
    except VisBenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
