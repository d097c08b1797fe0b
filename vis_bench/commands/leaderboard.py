"""`run_bench.py leaderboard RUN_DIR... [--out FILE] [--group-datasets]`: leaderboard markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "leaderboard"
HELP = "write leaderboard markdown from the records of one or more runs"
GROUP = "benchmark"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, help="run folders or records.jsonl files")
    parser.add_argument("--out", type=Path, default=None, help="markdown file (default: print)")
    parser.add_argument("--title", default="vis-bench leaderboard")
    parser.add_argument(
        "--group-datasets",
        action="store_true",
        help="records of several datasets: rank each dataset in its own section",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import write_atomic
    from vis_bench.errors import InputError
    from vis_bench.report.leaderboard import leaderboard_markdown
    from vis_bench.report.records import read_records

    records = []
    for path in args.runs:
        found = read_records(path)
        if not found:
            raise InputError(
                "no records found (expected a run folder with records.jsonl)", path=str(path)
            )
        records.extend(found)
    markdown = leaderboard_markdown(records, args.title, group_datasets=args.group_datasets)
    if args.out is None:
        print(markdown, end="")
    else:
        write_atomic(args.out, markdown)
        print(f"wrote {args.out}")
    return 0
