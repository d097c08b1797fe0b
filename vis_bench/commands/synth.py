"""`run_bench.py synth`: write a synthetic YouTube-VIS-format dataset (frames + annotations).

`--occlusion SHARE` makes it an OVIS-style dataset: per-frame occlusion labels on every track,
and about SHARE of the tracks crossed by another object (data/synthetic_occlusion.py).
`--novel-categories N` makes it LV-VIS-style: categories with `partition`, the last N novel.
`--layout burst` writes the same scenes in BURST's layout (`all_classes.json` and `frames/`,
data/burst_layout.py), marked synthetic, for a `dataset.kind: burst` sweep without the real data.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the data code imports numpy and PIL: loaded when the command runs
    from vis_bench.data.synthetic import SyntheticSpec

HELP = "generate a deterministic synthetic dataset in the YouTube-VIS (or BURST) layout"
GROUP = "data and training"

#: vis_bench.data.synthetic.DEFAULT_SIZES as `--help` shows it (a test checks that they agree)
DEFAULT_SIZES_TEXT = "128x192,144x176,120x160"
#: `--layout`: the files written (the first the default)
LAYOUTS = ("ytvis", "burst")
#: options BURST's layout has no field for
_YTVIS_ONLY = ("occlusion", "novel_categories")
#: options left at None fall back to SyntheticSpec's defaults (the numbers the help states)
_SPEC_OPTIONS = (
    "seed",
    "min_frames",
    "max_frames",
    "min_objects",
    "max_objects",
    "enter_leave",
    "jpeg_quality",
    "novel_categories",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", required=True, help="output folder (must not exist unless --overwrite)"
    )
    parser.add_argument("--videos", type=int, default=30, help="videos in the split (default 30)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    parser.add_argument(
        "--split",
        action="append",
        metavar="NAME[=N]",
        help="name of the split file (NAME.json; default annotations.json); repeat with counts "
        "for disjoint splits, e.g. --split train=24 --split valid=8",
    )
    parser.add_argument("--min-frames", type=int, default=None, help="shortest video (default 8)")
    parser.add_argument("--max-frames", type=int, default=None, help="longest video (default 20)")
    parser.add_argument("--height", type=int, help="fixed frame height (with --width)")
    parser.add_argument("--width", type=int, help="fixed frame width (with --height)")
    parser.add_argument(
        "--sizes",
        help=f"comma-separated HEIGHTxWIDTH sizes drawn per video (default {DEFAULT_SIZES_TEXT})",
    )
    parser.add_argument("--min-objects", type=int, default=None, help="per video (default 1)")
    parser.add_argument("--max-objects", type=int, default=None, help="per video (default 4)")
    parser.add_argument(
        "--enter-leave",
        type=float,
        default=None,
        help="share of tracks that enter or leave the frame (default 0.6)",
    )
    parser.add_argument(
        "--occlusion",
        type=float,
        default=None,
        metavar="SHARE",
        help="OVIS-style occlusion: write per-frame occlusion labels (from the covered fraction "
        "of each object) and make about SHARE (0..1) of the tracks pass behind another object; "
        "0 labels the scenes as they are. Default: no labels (YouTube-VIS layout)",
    )
    parser.add_argument(
        "--novel-categories",
        type=int,
        default=None,
        metavar="N",
        help="LV-VIS layout: every category gets a `partition`, the last N novel (2), the others "
        "base (0), so `eval` scores with the LV-VIS metric. Default: no partition",
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=LAYOUTS[0],
        help="ytvis: <split>.json and JPEGImages/ (default); burst: BURST's all_classes.json and "
        "frames/ of one split, for `dataset.kind: burst`",
    )
    parser.add_argument("--jpeg-quality", type=int, default=None, help="1..100 (default 90)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")


def spec_from_args(args: argparse.Namespace) -> SyntheticSpec:
    """Command-line options -> SyntheticSpec, rejecting contradictory size and split options."""
    from vis_bench.data.synthetic import DEFAULT_SIZES, SyntheticSpec, parse_size
    from vis_bench.errors import InputError

    if (args.height is None) != (args.width is None):
        raise InputError("give --height and --width together", field="--height/--width")
    if args.height is not None and args.sizes:
        raise InputError("give either --height/--width or --sizes, not both", field="--sizes")
    if args.height is not None:
        sizes = ((args.height, args.width),)
    elif args.sizes:
        sizes = tuple(parse_size(s) for s in args.sizes.split(",") if s.strip())
    else:
        sizes = DEFAULT_SIZES
    chosen = {
        name: getattr(args, name) for name in _SPEC_OPTIONS if getattr(args, name) is not None
    }
    return SyntheticSpec(
        splits=_parse_splits(args.split, args.videos),
        sizes=sizes,
        occlusion=args.occlusion,
        **chosen,
    )


def _parse_splits(values: list[str] | None, videos: int) -> tuple[tuple[str, int], ...]:
    from vis_bench.errors import InputError

    if not values:
        return (("annotations", videos),)
    splits = []
    for value in values:
        name, sep, count = value.partition("=")
        if not sep:
            if len(values) > 1:
                raise InputError(
                    f"with several splits give each a count, e.g. {name}=10", field="--split"
                )
            splits.append((name, videos))
            continue
        if not count.isdigit():
            raise InputError(f"count in {value!r} must be a whole number", field="--split")
        splits.append((name, int(count)))
    return tuple(splits)


def _write_burst(args: argparse.Namespace, spec: SyntheticSpec) -> str:
    """The scenes written in YouTube-VIS layout to a scratch folder, then in BURST's to --out."""
    from vis_bench.data.burst_layout import FRAMES_DIR, GT_FILE, write_burst_layout
    from vis_bench.data.synthetic import generate_from_spec, split_paths
    from vis_bench.errors import InputError

    given = [f"--{name.replace('_', '-')}" for name in _YTVIS_ONLY if getattr(args, name)]
    if given or len(spec.splits) > 1:
        raise InputError(
            f"--layout burst writes one split with BURST's fields only: drop {given or '--split'}",
            field="--layout",
        )
    out = Path(args.out)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as scratch:
        source = generate_from_spec(Path(scratch) / "ytvis", spec)
        annotations, frames = split_paths(source, spec.splits[0][0])
        write_burst_layout(annotations, frames, out, split="val", overwrite=args.overwrite)
    return f"{GT_FILE} ({spec.splits[0][1]} sequences), frames in {out / FRAMES_DIR}"


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_folder
    from vis_bench.data.synthetic import FRAME_DIR, generate_from_spec

    check_output_folder(args.out, "--out")
    spec = spec_from_args(args)
    start = time.perf_counter()
    if args.layout == "burst":
        written = _write_burst(args, spec)
        print(f"wrote {args.out}: {written} ({time.perf_counter() - start:.1f} s)")
        return 0
    out = generate_from_spec(args.out, spec, overwrite=args.overwrite)
    seconds = time.perf_counter() - start
    files = ", ".join(f"{name}.json ({count} videos)" for name, count in spec.splits)
    print(f"wrote {out}: {files}, frames in {out / FRAME_DIR} ({seconds:.1f} s)")
    return 0
