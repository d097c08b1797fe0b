"""`run_bench.py show --video ID (--gt GT.json --results RES.json --frames DIR | --run RUN_DIR
[--cell KEY]) [--compare ...] [--out FILE.gif|.mp4]`.

Draws one video's predictions over its frames: each predicted track's mask in its colour (the
colour of the GT track it is matched to, the same in every method's column), its outline,
category and score; the ground truth in the first column; the frames where a GT track is missed,
a prediction is a false positive or a track switches identity marked, from the frame matching
`eval --per-video` counts identity switches with. Writes an animation (GIF, or MP4 with
imageio-ffmpeg) and a PNG contact sheet of evenly spaced frames
(vis_bench/report/overlays/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vis_bench.commands._regenerator import regenerator

HELP = "draw a video's predicted masks over its frames: animation and contact sheet"
GROUP = "metric"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", required=True, help="video id, or its name (frame folder)")
    parser.add_argument("--gt", type=Path, default=None, help="the split's JSON (YouTube-VIS)")
    parser.add_argument("--results", type=Path, default=None, help="results.json to draw")
    parser.add_argument(
        "--frames", type=Path, default=None, help="folder holding the video folders (JPEGImages/)"
    )
    parser.add_argument("--run", type=Path, default=None, help="a run folder (instead of files)")
    parser.add_argument(
        "--cell",
        default=None,
        help="with --run: the cell's key (or label); default: each method's leaderboard cell",
    )
    parser.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="RES_OR_KEY",
        help="more columns: results files (with --results) or cell keys (with --run)",
    )
    parser.add_argument("--out", type=Path, default=None, help="animation: .gif or .mp4")
    parser.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG")
    parser.add_argument("--sheet-frames", type=int, default=6, help="frames on the sheet")
    parser.add_argument(
        "--score-threshold", type=float, default=0.3, help="draw predictions scoring at least this"
    )
    parser.add_argument("--top", type=int, default=10, help="at most K predictions per method")
    parser.add_argument(
        "--panel-size", type=int, default=480, help="a panel's longer side in pixels (0: video's)"
    )
    parser.add_argument("--fps", type=float, default=4.0, help="animation frames per second")
    parser.add_argument(
        "--max-frames", type=int, default=None, help="animate N evenly spaced frames (long videos)"
    )
    parser.add_argument(
        "--no-regenerate",
        action="store_true",
        help="with --run: fail instead of running a cell again when the run did not keep its "
        "predictions (a committed run keeps records only; regenerating one cell takes seconds)",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file
    from vis_bench.errors import InputError
    from vis_bench.report.overlays.show import ShowRequest, render_show, summary_lines

    for flag, path in (("--out", args.out), ("--sheet", args.sheet)):
        if path is not None:
            check_output_file(path, flag)
    if args.cell and args.run is None:
        raise InputError("--cell names a cell of a run: pass --run RUN_DIR too", field="--cell")
    if args.run is not None:
        cells = ([args.cell] if args.cell else []) + list(args.compare)
        results = None
    else:
        cells = None
        results = ([args.results] if args.results else []) + [Path(p) for p in args.compare]
    request = ShowRequest(
        video=args.video,
        gt=args.gt,
        frames=args.frames,
        results=results,
        run=args.run,
        cells=cells,
        out=args.out,
        sheet=args.sheet,
        sheet_frames=args.sheet_frames,
        score_threshold=args.score_threshold,
        top=args.top,
        panel_size=args.panel_size,
        fps=args.fps,
        max_frames=args.max_frames,
        regenerate=None if args.no_regenerate or args.run is None else regenerator(args.run),
    )
    scene, written = render_show(request)
    for method in scene.methods:
        for line in summary_lines(method):
            print(line)
    for path in written:
        print(f"wrote {path}")
    return 0
