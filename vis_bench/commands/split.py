"""`run_bench.py split --annotations train.json --holdout 0.1 [--seed 0] [--stratify] --out DIR`.

A deterministic held-out split of a training set for evaluating without a server: writes
DIR/train.json (train on it), DIR/holdout.json (evaluate on it) and DIR/split_manifest.json with
the sha256 of the input and both outputs and the categories each part has. A category missing
from a part is a warning on stderr (that part's AP would average over fewer categories);
`--stratify` assigns videos by category so each part gets its share of each. `--check MANIFEST`
verifies existing files instead. See docs/statistics.md for the recipe.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "hash-pinned held-out split of a training set (train.json, holdout.json, manifest)"
GROUP = "data and training"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--annotations", type=Path, help="YouTube-VIS/OVIS training annotations")
    parser.add_argument(
        "--holdout", type=float, default=0.1, help="fraction of videos held out (default 0.1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="hash seed (default 0)")
    parser.add_argument(
        "--stratify",
        action="store_true",
        help="assign videos category by category so both parts have each category (a new rule: "
        "its outputs differ from the default split's)",
    )
    parser.add_argument("--out", type=Path, help="output folder (must not exist)")
    parser.add_argument(
        "--check",
        type=Path,
        default=None,
        metavar="MANIFEST",
        help="verify the files of an existing split against its manifest and stop",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.data.holdout import PARTS, read_manifest, resolve_split, write_split
    from vis_bench.errors import InputError

    if args.check is not None:
        for part in PARTS:
            print(f"{part}: {resolve_split(args.check, part)} matches the manifest")
        for warning in read_manifest(args.check).data.get("warnings", []):  # version 1: none
            print(f"warning: {warning}", file=sys.stderr)
        return 0
    if args.annotations is None or args.out is None:
        raise InputError("split needs --annotations FILE and --out DIR (or --check MANIFEST)")
    from vis_bench.atomic import check_output_folder

    check_output_folder(args.out, "--out")
    manifest = write_split(
        args.annotations, args.holdout, args.seed, args.out, stratify=args.stratify
    )
    n_categories = sum(len(manifest["coverage"]["train"][k]) for k in ("present", "absent"))
    for part, entry in manifest["outputs"].items():
        print(
            f"{part:<8} {entry['videos']:>6} videos {entry['annotations']:>7} tracks  "
            f"{len(manifest['coverage'][part]['present']):>3}/{n_categories} categories  "
            f"sha256 {entry['sha256']}"
        )
    for warning in manifest["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"input    sha256 {manifest['input']['sha256']}")
    print(f"wrote {args.out}/ (train.json, holdout.json, split_manifest.json)")
    return 0
