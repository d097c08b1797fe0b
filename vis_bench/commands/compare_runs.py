"""`run_bench.py compare-runs RUN_A RUN_B [--out FILE]`: what moved between two runs, and is it real?

Matches the cells both runs measured, prints each one's AP, AP50 and AR10 in A and B with B - A
and its paired interval (same resampled videos), the FPS ratio at equal machine speed (or "not
comparable" with both machines' reference speeds), the cells only one run has, and what differs
in the two runs' configs and environments (report/run_comparison.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "two runs side by side: shared cells with paired deltas, and what changed between them"
GROUP = "benchmark"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", type=Path, help="run folder (or records.jsonl): the reference A")
    parser.add_argument("run_b", type=Path, help="run folder (or records.jsonl): B, compared to A")
    parser.add_argument("--out", type=Path, default=None, help="markdown file (default: print)")
    parser.add_argument(
        "--reference-tolerance",
        type=float,
        default=0.25,
        metavar="SHARE",
        help="FPS of two runs are set side by side only when the machine's reference speed "
        "differs by at most this share between them (default 0.25); beyond it the row says "
        "`not comparable` with both figures",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file, write_atomic
    from vis_bench.errors import InputError

    if args.out is not None:
        check_output_file(args.out, "--out")
    from vis_bench.report.record_set import RecordSet

    if not args.reference_tolerance >= 0:
        raise InputError(
            f"must be a share >= 0 (0.25: a quarter), got {args.reference_tolerance}",
            field="--reference-tolerance",
        )
    from vis_bench.report.run_comparison import compare_runs_markdown

    a, b = RecordSet.read([args.run_a]), RecordSet.read([args.run_b])
    markdown = compare_runs_markdown(
        a, b, str(args.run_a), str(args.run_b), args.reference_tolerance
    )
    if args.out is None:
        print(markdown, end="")
    else:
        write_atomic(args.out, markdown)
        print(f"wrote {args.out}")
    return 0
