"""`run_bench.py errors --gt GT.json --results RES.json [--out FILE.json]`: TIDE for video.

Classifies every prediction that matches nothing at video IoU 0.5 (category, localisation split
into spatial and temporal, both, duplicate, background) and every missed track, then fixes each
type alone and prints the AP50 it gains (vis_bench/eval/analysis/errors.py says how).
"""

from __future__ import annotations

import argparse
import json

from vis_bench.commands._options import add_scored_files_arguments, check_outputs

HELP = "TIDE-style error breakdown: the AP50 each error type costs (category, place, time, ...)"
GROUP = "metric"

#: error type -> what the printed table calls it
TITLES = {
    "cls": "category (right place, wrong category)",
    "loc": "localisation (right category, IoU 0.1-0.5)",
    "loc_spatial": "localisation, masks alone (frames both present)",
    "loc_temporal": "localisation, time alone (frames present or absent)",
    "both": "category and localisation",
    "dupe": "duplicate",
    "bkg": "background (IoU <= 0.1 with every track)",
    "miss": "missed track",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scored_files_arguments(
        parser, "results.json to analyse", "write the gains, counts and every error as JSON"
    )


def run(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from vis_bench.atomic import write_atomic
    from vis_bench.eval.analysis.errors import ERROR_TYPES, error_breakdown
    from vis_bench.eval.metric.loading import load_ground_truth, load_results

    check_outputs({"--out": args.out})
    gt = load_ground_truth(args.gt)
    breakdown = error_breakdown(gt, load_results(args.results, gt))
    rows = [
        [TITLES[kind], breakdown.counts[kind], f"{100 * breakdown.gains[kind]:.2f}"]
        for kind in ERROR_TYPES
    ]
    print(f"{args.results}: AP50 {100 * breakdown.ap50:.2f}")
    print(tabulate(rows, headers=["error", "count", "AP50 gained if fixed"], tablefmt="github"))
    print("(each type fixed alone; counts are predictions, or tracks for missed)")
    if args.out is not None:
        write_atomic(args.out, json.dumps(breakdown.as_dict(gt), indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0
