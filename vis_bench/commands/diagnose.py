"""`run_bench.py diagnose --gt GT.json --results RES.json [--out TRACKS.json]
[--show DIR --frames FRAMES [--worst K]]`.

Prints, for all tracks and apart for those that are always visible and those that enter or leave,
how many a prediction finds, how often it has the right category, and the share of visible frames
where its mask is empty (see vis_bench/eval/analysis/diagnose.py). `--show DIR` draws the K worst
tracks, one contact sheet each, the track singled out beside the ground truth
(vis_bench/report/overlays/worst.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vis_bench.commands._options import add_scored_files_arguments, check_outputs

HELP = "per-track errors of a results file: tracks found, classes, frames lost"
GROUP = "metric"


def columns(found_iou: float) -> dict[str, str]:
    """Summary key -> column title; the threshold is the metric code's, read when it runs."""
    return {
        "tracks": "tracks",
        "found": f"found (video IoU >= {found_iou})",
        "class_correct": "right class",
        "mean_video_iou": "mean video IoU",
        "empty_visible_frames": "visible frames left empty",
        "median_frame_iou": "median frame IoU",
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scored_files_arguments(
        parser, "results.json to diagnose", "write every track's diagnosis as JSON"
    )
    parser.add_argument(
        "--show", type=Path, default=None, metavar="DIR", help="draw the worst tracks into DIR"
    )
    parser.add_argument(
        "--frames", type=Path, default=None, help="with --show: the folder of the video folders"
    )
    parser.add_argument("--worst", type=int, default=5, help="with --show: how many tracks")
    parser.add_argument(
        "--score-threshold", type=float, default=0.3, help="with --show: draw predictions above"
    )


def _cell(key: str, value: float) -> str:
    if key == "tracks":
        return str(int(value))
    if value != value:  # nan: no such tracks
        return "-"
    return f"{value:.3f}" if key.endswith("iou") else f"{100 * value:.1f}%"


def _without_nan(value):
    """JSON has no NaN: undefined shares and IoUs are written as null."""
    if isinstance(value, dict):
        return {k: _without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nan(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def _check_show(args: argparse.Namespace) -> None:
    from vis_bench.errors import InputError

    check_outputs({"--out": args.out}, {"--show": args.show})
    if args.show is None:
        return
    if args.frames is None:
        raise InputError(
            "drawing tracks needs the frames: pass --frames (the folder holding the video "
            "folders, e.g. JPEGImages/)",
            field="--frames",
        )
    if args.worst < 1:
        raise InputError(f"must be at least 1, got {args.worst}", field="--worst")


def _show(args: argparse.Namespace, tracks: list) -> None:
    from vis_bench.report.overlays.worst import worst_tracks, write_worst_sheets

    worst = worst_tracks(tracks, args.worst)
    paths = write_worst_sheets(
        args.gt, args.results, args.frames, worst, args.show, score_threshold=args.score_threshold
    )
    for path in paths:
        print(f"wrote {path}")


def run(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from vis_bench.atomic import write_atomic
    from vis_bench.eval.analysis.diagnose import FOUND_IOU, as_records, diagnose, summarize
    from vis_bench.eval.metric.loading import load_ground_truth, load_results

    _check_show(args)
    gt = load_ground_truth(args.gt)
    tracks = diagnose(gt, load_results(args.results, gt))
    summary = summarize(tracks)
    titles = columns(FOUND_IOU)
    rows = [[group, *(_cell(k, stats[k]) for k in titles)] for group, stats in summary.items()]
    print(tabulate(rows, headers=["group", *titles.values()], tablefmt="github"))
    if args.out is not None:
        payload = _without_nan({"summary": summary, "tracks": as_records(tracks)})
        write_atomic(args.out, json.dumps(payload, indent=1, allow_nan=False) + "\n")
        print(f"wrote {args.out}")
    if args.show is not None:
        _show(args, tracks)
    return 0
