"""Arguments several commands share, so they read and behave the same everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vis_bench import exit_codes


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


def add_config_arguments(
    parser: argparse.ArgumentParser,
    config_help: str,
    override_help: str,
    *,
    required: bool = False,
    default: Path | None = None,
) -> None:
    """`--config FILE` and its `--set KEY=VALUE` overrides (`run`, `train`, `pretrain`,
    `predict`, `regress`): the file the command reads, then the keys changed in it."""
    parser.add_argument("--config", type=Path, required=required, default=default, help=config_help)
    add_override_argument(parser, override_help)


def add_method_option_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`--set KEY=VALUE` (repeatable) into `args.options`: a method's options, for the commands
    that build a model from a file (`keys`, `check-checkpoint`), not a config's overrides."""
    parser.add_argument(
        "--set", dest="options", action="append", default=[], metavar="KEY=VALUE", help=help_text
    )


def method_options(items: list[str]) -> dict[str, Any]:
    """`--set KEY=VALUE` strings of `add_method_option_argument` (values parsed as YAML, as
    `--set` everywhere) -> method options."""
    from vis_bench.config_overrides import apply_overrides

    return apply_overrides({}, items, "--set")


#: exit status of `eval` / `compare` when the metric dropped or cut predictions and
#: `--allow-dropped` was not given (a failed check, as everywhere: 1)
DROPPED_EXIT = exit_codes.BAD_ANSWER


def add_allow_dropped_argument(parser: argparse.ArgumentParser) -> None:
    """`--allow-dropped`: predictions the metric never scores are expected (e.g. a model that
    predicts classes outside the split on purpose); without it they make the command fail."""
    parser.add_argument(
        "--allow-dropped",
        action="store_true",
        help="exit 0 even when predictions were dropped (unknown category_id) or cut (wrong "
        "number of frame entries); they are still counted and named",
    )


def report_dropped(named: list[tuple[str, object]], allow: bool) -> int:
    """Print what the metric dropped from each named result (an `EvalResult`) to stderr;
    DROPPED_EXIT when something was dropped and `allow` is False, else 0."""
    import sys

    at_fault: set[str] = set()
    level = "warning" if allow else "error"
    for name, result in named:
        dropped = getattr(result, "dropped", None)
        if dropped is None or not dropped.any:
            continue
        # each line names the file at fault: the results, or the ground truth they reveal
        for line in dropped.results_messages():
            at_fault.add("the results")
            print(f"{level}: {name}: {line}", file=sys.stderr)
        for line in dropped.ground_truth_messages():
            at_fault.add("the ground truth")
            print(f"{level}: {dropped.gt_path}: {line}", file=sys.stderr)
    if at_fault and not allow:
        print(
            "error: the numbers above leave those predictions out, as the official evaluator "
            f"does; fix {' and '.join(sorted(at_fault, reverse=True))}, or pass "
            "--allow-dropped if that is intended",
            file=sys.stderr,
        )
        return DROPPED_EXIT
    return 0


def refuse_options(args: argparse.Namespace, flags: tuple[str, ...], with_what: str) -> None:
    """Options that do not combine with a choice the command line made: the first of `flags`
    given is an InputError `FLAG is not available with {with_what}` (its dest: argparse's)."""
    from vis_bench.errors import InputError

    for flag in flags:
        if getattr(args, flag.removeprefix("--").replace("-", "_"), None) is not None:
            raise InputError(f"{flag} is not available with {with_what}", field=flag)


def check_outputs(
    files: dict[str, object] | None = None, folders: dict[str, object] | None = None
) -> None:
    """Check a command's output paths before it does any work (flag -> path; None: not
    given): a file's path is no folder and a folder's is no file, and both can be written.
    The first problem is an InputError naming the path, the flag and what to do."""
    from vis_bench.atomic import check_output_file, check_output_folder

    for flag, path in (files or {}).items():
        if path is not None:
            check_output_file(path, flag)
    for flag, path in (folders or {}).items():
        if path is not None:
            check_output_folder(path, flag)


#: what `--gt` is to the commands that score a results file
GT_HELP = "ground-truth JSON (YouTube-VIS)"


def add_scored_files_arguments(
    parser: argparse.ArgumentParser, results_help: str, out_help: str, gt_help: str = GT_HELP
) -> None:
    """`--gt` and `--results` (both required) and `--out`: the files of a command that reads a
    results file against its ground truth and may write what it found (`eval`, `diagnose`,
    `errors`)."""
    parser.add_argument("--gt", required=True, type=Path, help=gt_help)
    parser.add_argument("--results", required=True, type=Path, help=results_help)
    parser.add_argument("--out", type=Path, default=None, help=out_help)


def add_run_dir_argument(parser: argparse.ArgumentParser) -> None:
    """`RUN_DIR`: the run folder a command writes pages of (`pages`, `report`)."""
    parser.add_argument("run_dir", type=Path, help="a run folder (records.jsonl, cells/)")
