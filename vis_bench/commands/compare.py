"""`run_bench.py compare --gt GT.json --a RES_A.json --b RES_B.json [--bootstrap B --seed S]`,
or `run_bench.py compare --run RUN_DIR --a CELL --b CELL`.

Is A really better than B? Scores both results files on the same GT, then resamples videos with
replacement (the same videos for both in every replicate) and prints, per metric, A, B, A - B,
the interval of the difference and whether it excludes 0. `--out FILE` writes the same as JSON.

With `--run`, A and B are two cells of a run folder (named by their folder under cells/, or as
METHOD/T/S/RESOLUTION: report/cell_names.py): it prints their AP difference paired over videos
and their FPS ratio paired over the rounds both were timed in, each with its interval and
verdict, from the records alone (nothing is scored or timed again).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vis_bench.commands._options import (
    add_allow_dropped_argument,
    check_outputs,
    report_dropped,
)
from vis_bench.commands._statistics import DEFAULT_REPLICATES, add_bootstrap_arguments

HELP = "paired bootstrap comparison of two results files on the same videos (is A - B real?)"
GROUP = "metric"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", type=Path, default=None, help="ground-truth JSON (YouTube-VIS)")
    parser.add_argument(
        "--run",
        type=Path,
        default=None,
        help="a run folder: --a and --b name two of its cells (folder name, or METHOD/T/S/"
        "RESOLUTION such as NAME/5/1/360 or NAME/all)",
    )
    parser.add_argument("--a", required=True, help="results.json of method A (with --run: a cell)")
    parser.add_argument("--b", required=True, help="results.json of method B (with --run: a cell)")
    add_bootstrap_arguments(parser)
    parser.add_argument("--out", type=Path, default=None, help="write the comparison as JSON")
    add_allow_dropped_argument(parser)


def _pct(value: float) -> str:
    return "n/a" if value < 0 else f"{100 * value:.2f}"


def _interval_text(diff) -> str:
    """The difference's interval, or why there is none (too few videos: eval/stats/bootstrap)."""
    ci = diff.interval
    if diff.reason is not None:
        return diff.reason
    return "n/a" if ci is None else f"[{100 * ci[0]:+.2f}, {100 * ci[1]:+.2f}]"


def _say_too_few(n_videos: int) -> None:
    """Below the table, once: why no interval (eval/stats/bootstrap.py's rule), if none."""
    from vis_bench.eval.stats.bootstrap import TOO_FEW_VIDEOS, no_interval_reason

    reason = no_interval_reason(n_videos)
    if reason is not None:
        print(f"{reason}: {TOO_FEW_VIDEOS}")


def _row(metric: str, diff: Any) -> list[str]:
    """A metric's line of the printed table."""
    return [
        metric,
        _pct(diff.a),
        _pct(diff.b),
        f"{100 * diff.difference:+.2f}",
        _interval_text(diff),
        "n/a" if diff.reason else "yes" if diff.excludes_zero else "no",
        "n/a" if diff.reason else f"{diff.p_value:.3f}",
    ]


def _entry(diff: Any) -> dict[str, Any]:
    """A metric's entry of the --out file (why it has no interval, where it has none)."""
    ci = diff.interval
    entry = {
        "a": diff.a,
        "b": diff.b,
        "difference": diff.difference,
        "interval": None if ci is None else list(ci),
        "excludes_zero": diff.excludes_zero,
        "p_value": None if diff.p_value != diff.p_value else diff.p_value,
    }
    if diff.reason is not None:
        entry["no_interval"] = diff.reason
    return entry


def run(args: argparse.Namespace) -> int:
    check_outputs({"--out": args.out})
    from vis_bench.errors import InputError

    if (args.gt is None) == (args.run is None):
        raise InputError(
            "give --gt GT.json with two results files, or --run RUN_DIR with two of its cells "
            "(e.g. compare --run results/runs/default --a NAME/5 --b NAME/all)",
            field="--gt" if args.gt is None else "--run",
        )
    if args.run is not None:
        from vis_bench.commands._compare_cells import compare_cells

        return compare_cells(args)
    args.a, args.b = Path(args.a), Path(args.b)
    return _compare_files(args)


def _compare_files(args: argparse.Namespace) -> int:
    """Both results files scored on --gt, every metric's A - B paired over videos."""
    from tabulate import tabulate

    from vis_bench.atomic import write_atomic
    from vis_bench.eval.api import evaluate_loaded
    from vis_bench.eval.metric.loading import load_ground_truth, load_results
    from vis_bench.eval.stats.bootstrap import paired_difference
    from vis_bench.eval.stats.resample import RESAMPLED_STATS
    from vis_bench.eval.stats.video_matches import VideoMatches

    replicates = DEFAULT_REPLICATES if args.bootstrap is None else args.bootstrap
    gt = load_ground_truth(args.gt)
    results = [evaluate_loaded(gt, load_results(path, gt)) for path in (args.a, args.b)]
    matches = [VideoMatches.from_pairs(r.pairs, r.matches) for r in results]
    rows, out = [], {}
    for metric in RESAMPLED_STATS:
        diff = paired_difference(
            *matches,
            results[0].stats[metric],
            results[1].stats[metric],
            metric=metric,
            replicates=replicates,
            seed=args.seed,
            confidence=args.confidence,
        )
        rows.append(_row(metric, diff))
        out[metric] = _entry(diff)
    level = f"{100 * args.confidence:g}%"
    print(f"A = {args.a}\nB = {args.b}\n{gt.path}: {len(gt.video_ids)} videos")
    print(
        tabulate(
            rows,
            headers=["metric", "A (%)", "B (%)", "A - B", f"{level} interval", "excludes 0", "p"],
            tablefmt="github",
        )
    )
    print(f"({replicates} paired video resamples, seed {args.seed})")
    _say_too_few(len(gt.video_ids))
    if args.out is not None:
        payload = {
            "gt": str(args.gt),
            "a": str(args.a),
            "b": str(args.b),
            "bootstrap": {
                "replicates": replicates,
                "seed": args.seed,
                "confidence": args.confidence,
                "unit": "video",
                "paired": True,
            },
            "metrics": out,
        }
        write_atomic(args.out, json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.out}")
    named = [(f"A ({args.a})", results[0]), (f"B ({args.b})", results[1])]
    return report_dropped(named, args.allow_dropped)
