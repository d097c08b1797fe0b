"""`eval --metric burst`: BURST's class-guided HOTA / DetA / AssA / track AP (docs/burst.md).

`--gt` is BURST's `all_classes.json` (or the folder holding it, as the toolkit's `--gt`);
`--results` is a BURST-format prediction file, or YouTube-VIS-format results (a JSON list),
converted first with `--score-threshold` and `--remove-overlap` (recorded in `--out`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vis_bench.commands._options import refuse_options
from vis_bench.errors import InputError
from vis_bench.eval.benchmarks import BURST

METRIC = BURST.name
#: eval options that score YouTube-VIS-layout inputs only
_NOT_FOR_BURST = (
    "--gt-cache",
    "--per-video",
    "--bootstrap",
    "--breakdown",
    "--category-groups",
    "--short-videos",
    "--long-videos",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--score-threshold",
        type=float,
        default=None,
        metavar="T",
        help="--metric burst with YouTube-VIS-format results: drop results scoring <= T before "
        "converting (default: keep all; HOTA counts every kept mask, whatever its score)",
    )
    parser.add_argument(
        "--remove-overlap",
        action="store_true",
        help="--metric burst with YouTube-VIS-format results: per video, higher-scoring masks "
        "hide lower-scoring ones (each keeps its visible pixels)",
    )


def check_arguments(args: argparse.Namespace) -> None:
    """Conversion settings belong to BURST; YouTube-VIS-only options do not."""
    burst = args.metric == METRIC
    if not burst and (args.score_threshold is not None or args.remove_overlap):
        raise InputError(
            "--score-threshold and --remove-overlap convert results for --metric burst only",
            field="--metric",
        )
    if burst:
        refuse_options(args, _NOT_FOR_BURST, "--metric burst")


def _gt_file(path: Path) -> Path:
    return path / "all_classes.json" if path.is_dir() else path


def _read(path: Path, what: str) -> Any:
    from vis_bench.jsonio import read_json

    return read_json(path, what)


def _predictions(args: argparse.Namespace, gt_data: Any) -> tuple[Any, dict[str, Any]]:
    """The BURST prediction dict and the conversion record."""
    from vis_bench.eval.burst.convert import ConversionSettings, ytvis_to_burst

    results = _read(args.results, "results")
    settings = ConversionSettings(args.score_threshold, args.remove_overlap)
    if isinstance(results, list):
        record = {"results_format": "youtube-vis", **settings.as_dict()}
        return ytvis_to_burst(results, gt_data, settings, str(args.results)), record
    if settings != ConversionSettings():
        raise InputError(
            "--score-threshold and --remove-overlap apply to YouTube-VIS-format results (a JSON "
            "list); these are BURST-format predictions, scored as they are",
            path=str(args.results),
        )
    return results, {"results_format": "burst", "score_threshold": None, "remove_overlap": False}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def run(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from vis_bench.atomic import write_atomic
    from vis_bench.eval.burst.metric import SPLITS, STATISTICS, evaluate_burst
    from vis_bench.eval.burst.reader import read_ground_truth, read_predictions

    gt_path = _gt_file(args.gt)
    gt_data = _read(gt_path, "ground truth")
    gt = read_ground_truth(gt_data, gt_path)
    predictions, conversion = _predictions(args, gt_data)
    read_predictions(predictions, args.results, gt)
    result = evaluate_burst(gt)
    for warning in result.warnings:
        print(f"warning: {warning}")
    rows = [
        [stat, *(_fmt(result.stats[f"{stat}_{split}"]) for split in SPLITS)] for stat in STATISTICS
    ]
    counts = {split: len(ids) for split, ids in result.classes.items()}
    print(
        f"BURST class-guided, {counts['all']} classes ({counts['common']} common, "
        f"{counts['uncommon']} uncommon); results {conversion['results_format']}"
        + (
            f", score threshold {conversion['score_threshold']}, overlap removed "
            f"{conversion['remove_overlap']}"
            if conversion["results_format"] == "youtube-vis"
            else ""
        )
    )
    print(tabulate(rows, headers=["metric (%)", *SPLITS], tablefmt="github", disable_numparse=True))
    if any(value is None for value in result.stats.values()):
        print("n/a: no evaluated class in that split, so its mean is undefined")
    if args.per_category:
        cat_rows = [
            [v["category_id"], name, *(f"{100 * v[stat]:.2f}" for stat in STATISTICS)]
            for name, v in result.per_class.items()
        ]
        print()
        print(tabulate(cat_rows, headers=["category", "name", *STATISTICS], tablefmt="github"))
    if args.out is not None:
        out = {
            **result.stats,
            "units": "percent (per_class: fractions)",
            "conversion": conversion,
            "classes": counts,
            "per_class": result.per_class,
        }
        write_atomic(args.out, json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0
