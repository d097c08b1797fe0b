"""`run_bench.py eval --gt GT.json --results RES.json [--out STATS.json] [--per-category]`.

Prints the 12 official numbers; `--gt-cache DIR` reuses the parsed GT across runs. Statistics
options (commands/_statistics.py): `--bootstrap B [--seed S]` adds confidence intervals,
`--breakdown length` scores video-length buckets, `--per-video FILE` writes per-video scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tabulate import tabulate

from vis_bench.atomic import write_atomic
from vis_bench.commands import _statistics
from vis_bench.eval.api import evaluate_files, evaluate_loaded
from vis_bench.eval.params import STAT_NAMES

NAME = "eval"
HELP = "score a results.json with the YouTube-VIS metric (same numbers as the official evaluator)"

_MAX_WARNINGS_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", required=True, type=Path, help="ground-truth JSON (YouTube-VIS)")
    parser.add_argument("--results", required=True, type=Path, help="results.json to score")
    parser.add_argument("--out", type=Path, default=None, help="write the 12 numbers as JSON")
    parser.add_argument("--per-category", action="store_true", help="also print AP per category")
    parser.add_argument(
        "--gt-cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the parsed GT in DIR so later runs on the same GT file skip parsing it",
    )
    _statistics.add_statistics_arguments(parser)


def _fmt(value: float) -> str:
    return "n/a" if value == -1 else f"{100 * value:.2f}"


def _evaluate(args: argparse.Namespace):
    """(result, gt, res); gt and res are loaded only when an option needs them."""
    if not _statistics.needs_loaded_inputs(args):
        return evaluate_files(args.gt, args.results, gt_cache_dir=args.gt_cache), None, None
    from vis_bench.eval.gt_cache import load_ground_truth_cached
    from vis_bench.eval.loading import load_ground_truth, load_results

    if args.gt_cache is None:
        gt = load_ground_truth(args.gt)
    else:
        gt = load_ground_truth_cached(args.gt, args.gt_cache)
    res = load_results(args.results, gt)
    return evaluate_loaded(gt, res), gt, res


def run(args: argparse.Namespace) -> int:
    result, gt, res = _evaluate(args)
    for warning in result.warnings[:_MAX_WARNINGS_SHOWN]:
        print(f"warning: {warning}", file=sys.stderr)
    if len(result.warnings) > _MAX_WARNINGS_SHOWN:
        print(f"warning: ... {len(result.warnings) - _MAX_WARNINGS_SHOWN} more", file=sys.stderr)
    rows = [[name, _fmt(result.stats[name])] for name in STAT_NAMES]
    print(tabulate(rows, headers=["metric", "value (%)"], tablefmt="github"))
    if args.per_category:
        cat_rows = [
            [cid, result.category_names.get(cid, ""), _fmt(ap)]
            for cid, ap in result.per_category_ap.items()
        ]
        print()
        print(tabulate(cat_rows, headers=["category", "name", "AP (%)"], tablefmt="github"))
    stats = {name: result.stats[name] for name in STAT_NAMES}
    if args.bootstrap is not None:
        stats.update(_statistics.bootstrap_entries(result, args))
    if args.breakdown == "length":
        stats.update(_statistics.breakdown_entries(gt, res, args))
    if args.per_video is not None:
        _statistics.write_per_video(gt, res, result, args.per_video)
    if args.out is not None:
        write_atomic(args.out, json.dumps(stats, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0
