"""Command-line interface: one subcommand per module in `vis_bench.commands`.

Each command module defines `HELP`, `GROUP`, `add_arguments(parser)` and `run(args) -> int`;
the command is named after its file (check_checkpoint.py -> `check-checkpoint`, `command_name`).
Discovering them keeps this file free of per-command imports, so commands stay independent, and a
command line that names its command imports that one module only: `eval` starts without the model
code. Command modules import only the standard library at module level, so `--help` (which imports
them all) works without the numeric stack (tests/test_command_imports.py).

`--help` lists the commands grouped by who uses them (`GROUPS`), so someone scoring a results file
does not have to read past the model developers' tools. The repository's own tooling (the
generated doc numbers) is no command of the package: `python -m tools` in a checkout.

No usage ends in a traceback, and each way a command ends has one exit status
(`vis_bench.exit_codes`, the table in docs/commands.md): a `VisBenchError` is one line on stderr
(exit 2), and so is an error of the file system (a folder that cannot be written, a disk that is
full: the path named where the error knows it); every command checks its output paths before it
starts (`atomic.check_output_file`), so the latter is a last resort. SIGTERM is handled as
Ctrl-C (`vis_bench.signals`): every finished record is kept, one line says so, exit 143 (130 for
Ctrl-C). Anything else is an internal error: its traceback, then one line, exit 3. A command
whose output is piped into a reader that stops early (`| head`) ends quietly with exit 141, as a
process ended by SIGPIPE does in a shell.

The usage lines name the program as it was called: `run_bench.py` in a checkout, `vis-bench`
installed, `python -m vis_bench`.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import pkgutil
import shutil
import sys
import textwrap
import traceback
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from vis_bench import __version__, exit_codes
from vis_bench.errors import VisBenchError
from vis_bench.signals import interrupt_name, interrupt_status, sigterm_as_interrupt

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
BROKEN_PIPE = exit_codes.BROKEN_PIPE
#: errors of the system that say what to fix without a path: one line, not a traceback
SYSTEM_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EMFILE,
     errno.ENFILE, errno.ENOMEM}
)  # fmt: skip
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


def command_name(module: ModuleType) -> str:
    """A command's name: its module's file name with dashes (the one rule by which
    `_command_modules` finds the module of a command line's command)."""
    return module.__name__.rpartition(".")[2].replace("_", "-")


def build_parser(
    command: str | None = None,
) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The parser with every command, or with only `command` (what a command line runs)."""
    prog = program_name()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="vis-bench: benchmark and evaluation harness for video instance segmentation.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vis-bench {__version__}")
    # the commands are listed by group in the epilog, not as one flat list under COMMAND
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        help=f"one of the commands below; `{prog} COMMAND --help` lists its options",
    )
    commands: dict[str, ModuleType] = {}
    for module in _command_modules(command):
        name = command_name(module)
        command_parser = sub.add_parser(name, description=module.HELP)
        module.add_arguments(command_parser)
        commands[name] = module
    parser.epilog = grouped_commands(commands)
    return parser, commands


def program_name(argv0: str | None = None) -> str:
    """The program as the user called it (`sys.argv[0]`): `python -m vis_bench` for the package
    run as a module, else the file's name (`run_bench.py`, `vis-bench`)."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    name = os.path.basename(argv0)
    if name in ("__main__.py", "-m", "-c", ""):
        return "python -m vis_bench"
    return name


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
    """Parse `argv` and run the chosen command; with no command, run the default sweep. Returns
    the exit status (`vis_bench.exit_codes`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = [DEFAULT_COMMAND]
    try:
        parser, commands = build_parser(None if argv[0].startswith("-") else argv[0])
        args = parser.parse_args(argv)
    except Exception as err:  # a command module that does not import (a broken install)
        return _internal_error(err)
    if args.command is None:
        parser.print_help()
        return exit_codes.OK
    with sigterm_as_interrupt():
        return _run_command(commands[args.command], args)


def _run_command(module: ModuleType, args: argparse.Namespace) -> int:
    """Run one command, each way it can end mapped to its exit status and at most one line."""
    try:
        code = int(module.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        global _skip_teardown
        _skip_teardown = bool(getattr(module, "EXIT_WITHOUT_TEARDOWN", False))
        return code
    except VisBenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return exit_codes.USAGE
    except KeyboardInterrupt as err:
        print(interrupt_name(err), file=sys.stderr)
        return interrupt_status(err)
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE
    except OSError as err:
        if err.filename is None and err.errno not in SYSTEM_ERRNOS:
            return _internal_error(err)
        print(f"error: {file_system_message(err)}", file=sys.stderr)
        return exit_codes.USAGE
    except Exception as err:
        return _internal_error(err)


def _internal_error(err: Exception) -> int:
    """What no input explains: the traceback (to report), then one line, exit 3."""
    traceback.print_exc()
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    print(
        f"internal error: {type(err).__name__}: {text}; this is a bug (of vis-bench or of a method's code): "
        "please report it with the traceback above",
        file=sys.stderr,
    )
    return exit_codes.INTERNAL


def file_system_message(err: OSError) -> str:
    """One line for an error of the file system: the path (where the error knows it), what went
    wrong and what to do."""
    what = (err.strerror or str(err)).lower()
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = (
            "free some space (or choose another folder) and run the same command again; a "
            "sweep resumes after its finished cells"
        )
    else:
        advice = "check the path, its permissions and the free space, or choose another"
    if err.filename is None:
        return f"{what}: {advice}"
    where = err.filename if err.filename2 is None else f"{err.filename} -> {err.filename2}"
    return f"{where}: {what}: {advice}"


def _silence_stdout() -> None:
    """Point stdout at the null device: the reader is gone, and the interpreter's own flush at
    exit would otherwise report the closed pipe once more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind stdout (a test's capture)
        pass


def console_main() -> NoReturn:
    """The installed `vis-bench` command: `main`, ended as run_bench.py and `python -m
    vis_bench` end it (`finish`), so an installed `eval` skips the teardown too."""
    finish(main())


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
