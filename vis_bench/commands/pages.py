"""`run_bench.py pages RUN_DIR [--title TITLE] [--no-html]`: write every page of a run again.

From the run folder's records alone (records.jsonl, with cells/ beside it for the HTML page's
overlays), as `run` writes them at its end: tables.md, cells.csv, plots/, report.html and
leaderboard.md. For a run folder copied from elsewhere, a run whose pages were written by an
older vis-bench, or one that was interrupted before it wrote them.
"""

from __future__ import annotations

import argparse

from vis_bench.commands._options import add_run_dir_argument
from vis_bench.commands._regenerator import regenerator

HELP = "write every page of a run again from its records: tables, cells.csv, plots, report"
GROUP = "benchmark"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir_argument(parser)
    parser.add_argument(
        "--title", default=None, help="the pages' title (default: vis-bench: <the run's name>)"
    )
    parser.add_argument(
        "--no-html", action="store_true", help="leave report.html out (it draws the overlays)"
    )
    parser.add_argument(
        "--regenerate",
        action="store_true",
        help="draw the overlays of a run that did not keep its predictions (a committed run): "
        "each drawn cell is run again, its AP checked against its record (seconds a cell)",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_folder
    from vis_bench.errors import InputError
    from vis_bench.report.outputs import write_reports
    from vis_bench.report.record_set import RecordSet

    if not args.run_dir.is_dir():
        raise InputError(
            "not a run folder: pass the folder holding records.jsonl (e.g. results/runs/default)",
            path=str(args.run_dir),
        )
    check_output_folder(args.run_dir, "run_dir")
    record_set = RecordSet.read([args.run_dir])
    names = [r.run for r in record_set if r.run]
    title = args.title or f"vis-bench: {names[-1] if names else args.run_dir.name}"
    regenerate = regenerator(args.run_dir) if args.regenerate else None
    written = write_reports(
        record_set, args.run_dir, title, html=not args.no_html, log=print, regenerate=regenerate
    )
    for path in written:
        print(f"wrote {path}")
    return 0
