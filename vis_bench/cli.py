"""Command-line interface: one subcommand per module in `vis_bench.commands`.

Each command module defines `NAME`, `HELP`, `GROUP`, `add_arguments(parser)` and
`run(args) -> int`; its file is named after the command (`check-checkpoint` -> check_checkpoint.py).
Discovering them keeps this file free of per-command imports, so commands stay independent, and a
command line that names its command imports that one module only: `eval` starts without the model
code. Command modules import only the standard library at module level, so `--help` (which imports
them all) works without the numeric stack (tests/test_command_imports.py).

`--help` lists the commands grouped by who uses them (`GROUPS`), so someone scoring a results file
does not have to read past the model developers' tools. The repository's own tooling (the
generated doc numbers) is no command of the package: `python -m tools` in a checkout.

No usage ends in a traceback: a `VisBenchError` is one line on stderr (exit 2), and so is an
error of the file system that names its file (a folder that cannot be written, a disk that is
full); every command checks its output paths before it starts (`atomic.check_output_file`), so
the latter is a last resort. A command whose output is piped into a reader that stops early
(`| head`) ends quietly with exit 141, as a process ended by SIGPIPE does in a shell.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shutil
import sys
import textwrap
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from vis_bench.errors import VisBenchError

DEFAULT_COMMAND = "run"
PACKAGE = "vis_bench.commands"
#: command groups in the order `--help` lists them: a command's `GROUP` -> who uses it
GROUPS = {
    "benchmark": "run sweeps, rank their results and guard them against regressions",
    "metric": "score, compare, diagnose and check results files",
    "model developer": "check a method against its authors' code, checkpoints and costs",
    "data and training": "make datasets and splits, train models",
}
#: where a command that declares no (known) GROUP is listed
OTHER_GROUP = "other"
#: exit status of a command whose reader closed the pipe early (128 + SIGPIPE, as a shell gives)
BROKEN_PIPE = 141
#: set by `main` once a command that declares `EXIT_WITHOUT_TEARDOWN` has run (see `finish`)
_skip_teardown = False


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
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # the commands are listed by group in the epilog, not as one flat list under COMMAND
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        help="one of the commands below; `run_bench.py COMMAND --help` lists its options",
    )
    commands: dict[str, ModuleType] = {}
    for module in _command_modules(command):
        command_parser = sub.add_parser(module.NAME, description=module.HELP)
        module.add_arguments(command_parser)
        commands[module.NAME] = module
    parser.epilog = grouped_commands(commands)
    return parser, commands


def command_group(module: ModuleType) -> str:
    """The group a command module declares, or OTHER_GROUP when it names none of GROUPS."""
    group = getattr(module, "GROUP", None)
    return group if group in GROUPS else OTHER_GROUP


def grouped_commands(commands: dict[str, ModuleType], width: int | None = None) -> str:
    """The commands as `--help` lists them: one titled block per group, in the order of GROUPS."""
    width = width or max(shutil.get_terminal_size().columns - 2, 40)
    name_width = max((len(name) for name in commands), default=0) + 4
    blocks = []
    for group, about in [*GROUPS.items(), (OTHER_GROUP, "commands that declare no group")]:
        names = sorted(n for n, m in commands.items() if command_group(m) == group)
        if not names:
            continue
        lines = [f"{group} commands ({about}):"]
        for name in names:
            head = f"  {name}".ljust(name_width)
            lines.append(
                textwrap.fill(
                    commands[name].HELP,
                    width=width,
                    initial_indent=head,
                    subsequent_indent=" " * name_width,
                )
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


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
        module = commands[args.command]
        code = int(module.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        global _skip_teardown
        _skip_teardown = bool(getattr(module, "EXIT_WITHOUT_TEARDOWN", False))
        return code
    except VisBenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE
    except OSError as err:
        if err.filename is None:
            raise
        print(f"error: {file_system_message(err)}", file=sys.stderr)
        return 2


def file_system_message(err: OSError) -> str:
    """One line for an error of the file system: the path, what went wrong and what to do."""
    what = (err.strerror or str(err)).lower()
    where = err.filename if err.filename2 is None else f"{err.filename} -> {err.filename2}"
    return f"{where}: {what}: check the path, its permissions and the free space, or choose another"


def _silence_stdout() -> None:
    """Point stdout at the null device: the reader is gone, and the interpreter's own flush at
    exit would otherwise report the closed pipe once more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind stdout (a test's capture)
        pass


def finish(code: int) -> NoReturn:
    """End the process (run_bench.py) with `code`.

    After a command that declares `EXIT_WITHOUT_TEARDOWN` (its outputs written and closed, no
    threads or child processes left: `eval`), the standard streams are flushed and the
    interpreter's teardown, which frees every object the command loaded one by one, is skipped;
    on a released-size GT that teardown is a noticeable share of a whole `eval` process.
    """
    if _skip_teardown:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            _silence_stdout()
            code = BROKEN_PIPE
        os._exit(code)
    sys.exit(code)
