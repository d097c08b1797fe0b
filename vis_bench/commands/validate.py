"""`run_bench.py validate --gt GT.json RES.json [--zip OUT.zip] [--strict] [--metric ...]`.

Pre-submission check against the rules of the YouTube-VIS or (for an OVIS split) the OVIS
evaluator; both servers take a zip with `results.json` at its root, which `--zip` writes.
Without a results file, `validate --gt GT.json` checks the ground truth itself
(eval/submission/validate_gt.py): every problem with its video, frame and field.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Any

HELP = (
    "check a results.json against a split's videos/categories before submission, or (without "
    "one) the ground-truth file itself"
)
GROUP = "metric"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gt", required=True, type=Path, help="GT or public split JSON (videos, categories)"
    )
    parser.add_argument(
        "results",
        type=Path,
        nargs="?",
        default=None,
        help="results.json to check (none: check the --gt file as a ground truth)",
    )
    parser.add_argument(
        "--zip", type=Path, default=None, help="write the submission zip when the file is valid"
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument(
        "--metric",
        choices=("auto", "ytvis", "ovis"),
        default="auto",
        help="whose evaluator's rules to check: auto (default) = OVIS for a split with OVIS's "
        "categories or occlusion labels, else YouTube-VIS",
    )
    parser.add_argument(
        "--max-per-check",
        type=int,
        default=20,
        help="print at most this many problems of each kind (default 20; 0 = all)",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file
    from vis_bench.eval.submission.archive import write_submission_zip
    from vis_bench.eval.submission.validate import load_split_info, validate_results

    if args.zip is not None:
        check_output_file(args.zip, "--zip")

    if args.results is None:
        return _check_ground_truth(args)
    split = load_split_info(args.gt)
    report = validate_results(split, args.results, metric=args.metric)
    rules = "OVIS" if report.metric == "ovis" else "YouTube-VIS"
    print(f"checking {args.results} against {args.gt} with the {rules} evaluator's rules")
    _print_problems(report, args.max_per_check)
    n_err, n_warn = len(report.errors), len(report.warnings)
    print(f"{args.results}: {report.n_results} predictions, {n_err} errors, {n_warn} warnings")
    valid = report.ok(strict=args.strict)
    if args.zip is not None:
        if valid:
            write_submission_zip(args.results, args.zip)
            print(f"wrote {args.zip} (results.json at the archive root)")
        else:
            why = f"{n_err} errors" + (f" and {n_warn} warnings (--strict)" if args.strict else "")
            print(f"not writing {args.zip}: the results have {why}; fix them first")
    return 0 if valid else 1


def _check_ground_truth(args: argparse.Namespace) -> int:
    """`validate --gt FILE` alone: the ground-truth file's own problems."""
    from vis_bench.errors import InputError
    from vis_bench.eval.submission.validate_gt import validate_ground_truth

    if args.zip is not None:
        raise InputError("--zip packs a results file: give one after --gt", field="--zip")
    print(f"checking {args.gt} as a ground truth (YouTube-VIS layout)")
    report = validate_ground_truth(args.gt)
    _print_problems(report, args.max_per_check)
    n_err, n_warn = len(report.errors), len(report.warnings)
    print(f"{args.gt}: {report.n_results} tracks, {n_err} errors, {n_warn} warnings")
    return 0 if report.ok(strict=args.strict) else 1


def _print_problems(report: Any, max_per_check: int) -> None:
    """Each problem, at most `max_per_check` of a kind (0: all), then how many more."""
    shown: dict[str, int] = defaultdict(int)
    for problem in report.problems:
        shown[problem.code] += 1
        if not max_per_check or shown[problem.code] <= max_per_check:
            print(problem)
    for (severity, code), n in sorted(report.counts_by_code().items()):
        if max_per_check and n > max_per_check:
            print(f"... {n - max_per_check} more {severity}s of kind {code!r}")
