"""`run_bench.py leaderboard RUN_DIR... [--out FILE] [--format md|csv|json|latex] [--group-datasets]
[--settings]`.

Leaderboard markdown from records alone: a records.jsonl copied out of its run folder is enough.
`--settings` names the dataset and measure settings each record was made with (embedded in the
record; for records written before that, read from the folder's configs/<hash>.yaml). Given one
run folder that holds its HTML report (report.html), each method row links to its section there
(the link is relative to the run folder, where `run` writes leaderboard.md). `--format csv|json|latex`
writes the same rows with plain numbers (report/exports.py) for a spreadsheet, a script or a paper.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write leaderboard markdown from the records of one or more runs"
GROUP = "benchmark"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, help="run folders or records.jsonl files")
    parser.add_argument("--out", type=Path, default=None, help="markdown file (default: print)")
    parser.add_argument("--title", default="vis-bench leaderboard")
    parser.add_argument(
        "--format",
        choices=("md", "csv", "json", "latex"),
        default="md",
        help="md (default): the markdown leaderboard; csv / json / latex: its rows with plain "
        "numbers (AP interval bounds and FPS as numbers, the machine apart)",
    )
    parser.add_argument(
        "--group-datasets",
        action="store_true",
        help="records of several datasets: rank each dataset in its own section",
    )
    parser.add_argument(
        "--settings",
        action="store_true",
        help="also list the dataset and measure settings (warmup, repeats, threads, timeout...) "
        "each record was made with",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file

    if args.out is not None:
        check_output_file(args.out, "--out")
    from vis_bench.report.leaderboard import REPORT_FILE, leaderboard_markdown
    from vis_bench.report.record_set import RecordSet

    record_set = RecordSet.read(args.runs)
    if args.format != "md":
        from vis_bench.report.exports import export_leaderboard

        text = export_leaderboard(record_set, args.format, args.title, args.group_datasets)
        return _emit(text, args.out)
    # one run folder with its HTML report: method rows link to it (relative to that folder)
    folder = args.runs[0] if len(args.runs) == 1 and args.runs[0].is_dir() else None
    report = REPORT_FILE if folder is not None and (folder / REPORT_FILE).is_file() else None
    markdown = leaderboard_markdown(
        record_set,
        args.title,
        group_datasets=args.group_datasets,
        settings=args.settings,
        report=report,
    )
    return _emit(markdown, args.out)


def _emit(text: str, out: Path | None) -> int:
    from vis_bench.atomic import write_atomic

    if out is None:
        print(text, end="")
    else:
        write_atomic(out, text)
        print(f"wrote {out}")
    return 0
