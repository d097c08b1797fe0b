"""`run_bench.py export-vos --gt GT.json [--results RES.json] --out DIR [--frames FRAMES]`:
predictions (or, without --results, the ground truth's tracks) in the VOS layout: palette PNGs
of object indices per frame and a YouTube-VOS meta.json (vis_bench/data/vos_export.py). Where
predictions overlap, a pixel goes to the highest-scored one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = (
    "write predictions (or a ground truth) as VOS-layout palette PNGs and meta.json; overlaps "
    "go to the higher score"
)
GROUP = "data and training"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gt", type=Path, required=True, help="the split's JSON (videos, categories)"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="results.json to export (default: the ground truth's own tracks)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--frames",
        type=Path,
        default=None,
        help="the folder the GT's file_names are in: JPEGImages/ gets the frames too",
    )
    parser.add_argument(
        "--score-threshold",
        type=float,
        default=0.5,
        help="export the predictions scoring at least this (default 0.5)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def run(args: argparse.Namespace) -> int:
    from vis_bench.data.vos_export import export_vos

    summary = export_vos(
        args.gt,
        args.out,
        results=args.results,
        frames_root=args.frames,
        score_threshold=args.score_threshold,
        overwrite=args.overwrite,
    )
    what = "predictions" if args.results is not None else "ground-truth tracks"
    print(f"{summary.objects} {what} as objects of {summary.videos} videos in {args.out}")
    if summary.below_threshold:
        print(f"left out: {summary.below_threshold} scoring below {args.score_threshold}")
    if summary.over_cap:
        print(f"left out: {summary.over_cap} beyond a video's 255 objects (the lowest-scored)")
    if summary.overpainted:
        print(
            f"{summary.overpainted} objects lost pixels where a higher-scored one overlaps them "
            "(a VOS mask holds one object per pixel)"
        )
    return 0
