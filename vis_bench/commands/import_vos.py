"""`run_bench.py import-vos VOS_ROOT --out DIR`: a VOS-layout folder (JPEGImages/<video>/<frame>.jpg,
Annotations/<video>/<frame>.png palette masks, optional YouTube-VOS meta.json) as a YouTube-VIS
ground truth: DIR/annotations.json beside DIR/frames/<video>/ (vis_bench/data/vos_import.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = (
    "turn a VOS-layout folder (JPEGImages + palette-PNG Annotations, optional meta.json) into a "
    "YouTube-VIS ground truth that run, eval and predict take"
)
GROUP = "data and training"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="the folder holding JPEGImages/ and Annotations/")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output folder: annotations.json and frames/ (must not exist unless --overwrite)",
    )
    parser.add_argument(
        "--ids-from",
        type=Path,
        default=None,
        metavar="FILE",
        help="keep this YouTube-VIS file's video ids (matched by frame folder) and category ids "
        "(matched by name), e.g. the ground truth an export-vos folder came from",
    )
    parser.add_argument(
        "--annotated-only",
        action="store_true",
        help="keep only the frames that have a mask (YouTube-VOS style sparse annotation); "
        "default: every frame needs one",
    )
    parser.add_argument(
        "--void-index",
        type=int,
        default=None,
        metavar="N",
        help="a mask index that is neither background nor an object (e.g. 255 for borders)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def run(args: argparse.Namespace) -> int:
    from vis_bench.data.vos_import import ANNOTATIONS_FILE, OUTPUT_FRAMES_DIR, import_vos
    from vis_bench.errors import InputError

    if args.void_index is not None and not 1 <= args.void_index <= 255:
        raise InputError(
            f"must be a mask index 1..255, got {args.void_index}", field="--void-index"
        )
    summary = import_vos(
        args.root,
        args.out,
        ids_from=args.ids_from,
        annotated_only=args.annotated_only,
        void_index=args.void_index,
        overwrite=args.overwrite,
    )
    for name in summary.skipped_objects[:10]:
        print(f"note: object {name} of meta.json appears in no mask: not a track")
    print(
        f"imported {summary.videos} videos, {summary.frames} frames, {summary.tracks} tracks, "
        f"{summary.categories} categories"
    )
    print(f"wrote {args.out / ANNOTATIONS_FILE} and {args.out / OUTPUT_FRAMES_DIR}/")
    print(
        f"check it: validate --gt {args.out / ANNOTATIONS_FILE}; sweep it: dataset.kind: custom, "
        f"dataset.annotations: {args.out}"
    )
    return 0
