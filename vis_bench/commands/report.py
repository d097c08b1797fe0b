"""`run_bench.py report RUN_DIR [--out report.html] [--videos N --frames N --panel-size PX]`.

One self-contained HTML page of a run (vis_bench/report/html_report.py): the leaderboard
(sortable), the tables, the plots, published vs reproduced numbers, each cell's record and a
per-video browser of each method's overlays beside the ground truth, worst videos first. Opens
from disk (no server, no network). `run` writes the same page as <run dir>/report.html.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vis_bench.commands._options import add_run_dir_argument

HELP = "one self-contained HTML page of a run: leaderboard, tables, plots, cells, overlays"
GROUP = "benchmark"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir_argument(parser)
    parser.add_argument(
        "--out", type=Path, default=None, help="HTML file (default: RUN_DIR/report.html)"
    )
    parser.add_argument("--title", default=None, help="page title (default: the folder's name)")
    parser.add_argument(
        "--videos", type=int, default=12, help="videos with overlays, worst first (default 12)"
    )
    parser.add_argument(
        "--frames", type=int, default=10, help="evenly spaced frames per video (default 10)"
    )
    parser.add_argument(
        "--panel-size", type=int, default=360, help="a panel's longer side in pixels (default 360)"
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file
    from vis_bench.errors import InputError
    from vis_bench.report.html_report import write_html_report
    from vis_bench.report.record_set import RecordSet
    from vis_bench.report.video_browser import BrowserLimits

    check_output_file(args.out or args.run_dir / "report.html", "--out" if args.out else "run_dir")
    for name, value in (("--videos", args.videos), ("--frames", args.frames)):
        if value < 0:
            raise InputError(f"must be 0 or more, got {value}", field=name)
    if args.panel_size < 16:
        raise InputError(f"must be at least 16 pixels, got {args.panel_size}", field="--panel-size")
    limits = BrowserLimits(videos=args.videos, frames=args.frames, panel_size=args.panel_size)
    record_set = RecordSet.read([args.run_dir])
    path = write_html_report(record_set, out=args.out, title=args.title, limits=limits, log=print)
    size = path.stat().st_size / 2**20
    print(f"wrote {path} ({size:.1f} MiB)")
    return 0
