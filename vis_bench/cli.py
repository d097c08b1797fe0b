"""Command-line interface: one subcommand per module in `vis_bench.commands`.

Each command module defines `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`; its
file is named after the command (`check-checkpoint` -> check_checkpoint.py). Discovering them keeps
this file free of per-command imports, so commands stay independent, and a command line that
names its command imports that one module only: `eval` starts without the model code.
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
PACKAGE = "vis_bench.commands"


def _module_names() -> list[str]:
    import vis_bench.commands as package

    return sorted(
        i.name for i in pkgutil.iter_modules(package.__path__) if not i.name.startswith("_")
    )


def _command_modules(only: str | None = None) -> list[ModuleType]:
    """Every command module, or just the one for command `only` when it exists."""
    names = _module_names()
    if only is not None and only.replace("-", "_") in names:
        names = [only.replace("-", "_")]
    return [importlib.import_module(f"{PACKAGE}.{name}") for name in names]


def build_parser(
    command: str | None = None,
) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The parser with every command, or with only `command` (what a command line runs)."""
    parser = argparse.ArgumentParser(
        prog="run_bench.py",
        description="vis-bench: benchmark and evaluation harness for video instance segmentation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands: dict[str, ModuleType] = {}
    for module in _command_modules(command):
        command_parser = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
        commands[module.NAME] = module
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the chosen command; with no command, run the default sweep."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = [DEFAULT_COMMAND]
    parser, commands = build_parser(None if argv[0].startswith("-") else argv[0])
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
