"""The statistics options of `eval` (bootstrap intervals, length breakdown, per-video scores).

Kept apart from eval.py so the plain command stays as it was; each option adds its own entries to
the stats file and its own lines to the printout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

BREAKDOWNS = ("length",)
#: vis_bench.eval.stats.bootstrap's defaults, repeated so `--help` imports no metric code (a test checks
#: that they agree)
DEFAULT_REPLICATES = 1000
DEFAULT_CONFIDENCE = 0.95


def add_bootstrap_arguments(parser: argparse.ArgumentParser) -> None:
    """--bootstrap B, --seed S, --confidence C (shared by eval and compare)."""
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=None,
        metavar="B",
        help=f"bootstrap replicates over videos (e.g. {DEFAULT_REPLICATES}) for confidence "
        "intervals of AP, AP50, AP75 and AR10",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument(
        "--confidence",
        type=float,
        default=DEFAULT_CONFIDENCE,
        help=f"confidence level of the intervals (default {DEFAULT_CONFIDENCE})",
    )


def add_statistics_arguments(parser: argparse.ArgumentParser) -> None:
    add_bootstrap_arguments(parser)
    parser.add_argument(
        "--breakdown",
        choices=BREAKDOWNS,
        default=None,
        help="also score each video-length bucket (default: YouTube-VIS 2022's short <= 36 "
        "frames < long)",
    )
    parser.add_argument(
        "--length-buckets",
        default=None,
        metavar="EDGES",
        help="with --breakdown length: increasing frame counts ending each bucket, e.g. 20,36,72",
    )
    parser.add_argument(
        "--per-video",
        type=Path,
        default=None,
        metavar="FILE",
        help="write per-video scores and, per GT track, best IoU, matched class and identity "
        "behaviour (switches, fragmentations) as JSON; tracking metrics (HOTA, DetA, AssA, "
        "LocA) too when the optional trackeval package is installed",
    )


def needs_loaded_inputs(args: argparse.Namespace) -> bool:
    """True when an option needs the loaded GT and results, not only the evaluation."""
    return args.breakdown is not None or args.per_video is not None


def _interval(ci: list[float] | None) -> str:
    return "n/a" if ci is None else f"[{100 * ci[0]:.2f}, {100 * ci[1]:.2f}]"


def bootstrap_entries(result: Any, args: argparse.Namespace) -> dict[str, Any]:
    """`AP_ci`, `AP50_ci`, `AP75_ci`, `AR10_ci` and a `bootstrap` note; prints the intervals."""
    from tabulate import tabulate

    from vis_bench.eval.stats.bootstrap import TOO_FEW_VIDEOS, bootstrap
    from vis_bench.eval.stats.video_matches import VideoMatches

    boot = bootstrap(
        VideoMatches.from_pairs(result.pairs, result.matches),
        replicates=args.bootstrap,
        seed=args.seed,
        confidence=args.confidence,
    )
    entries: dict[str, Any] = boot.stats_entries()
    rows = [[name[:-3], boot.reason or _interval(ci)] for name, ci in entries.items()]
    print()
    level = f"{100 * args.confidence:g}%"
    head = [
        "metric",
        f"{level} interval (%), {args.bootstrap} video resamples, seed {args.seed}",
    ]
    print(tabulate(rows, headers=head, tablefmt="github"))
    if boot.reason is not None:
        print(f"{boot.reason}: {TOO_FEW_VIDEOS}")
    entries["bootstrap"] = {
        "replicates": args.bootstrap,
        "seed": args.seed,
        "confidence": args.confidence,
        "unit": "video",
        "method": "percentile",
    }
    if boot.reason is not None:
        entries["bootstrap"]["no_interval"] = boot.reason
    return entries


def breakdown_entries(gt: Any, res: Any, args: argparse.Namespace) -> dict[str, Any]:
    """`{"length": {label: {"videos": n, ...stats}}}`; prints one row per bucket."""
    from tabulate import tabulate

    from vis_bench.eval.benchmarks import YTVIS_COLUMNS
    from vis_bench.eval.stats.breakdown import DEFAULT_LENGTH_EDGES, length_breakdown, parse_edges

    edges = (
        DEFAULT_LENGTH_EDGES if args.length_buckets is None else parse_edges(args.length_buckets)
    )
    table = length_breakdown(gt, res, edges)
    shown = YTVIS_COLUMNS
    rows = [
        [
            label,
            entry["videos"],
            *("n/a" if entry[k] < 0 else f"{100 * entry[k]:.2f}" for k in shown),
        ]
        for label, entry in table.items()
    ]
    print()
    print(tabulate(rows, headers=["length bucket", "videos", *shown], tablefmt="github"))
    return {"length": table}


def write_per_video(gt: Any, res: Any, result: Any, path: Path) -> None:
    """Per-video scores, per-track identity behaviour and tracking metrics, as JSON."""
    from vis_bench.atomic import write_atomic
    from vis_bench.eval.stats.per_video import per_video_report

    report = per_video_report(gt, res, result)
    for note in report["notes"]:
        print(f"note: {note}", file=sys.stderr)
    write_atomic(path, json.dumps(report, indent=1, allow_nan=False) + "\n")
    print(f"wrote {path}")
