"""`run_bench.py eval --gt GT.json --results RES.json [--out STATS.json] [--metric ...]`.

Prints the 12 official YouTube-VIS numbers, or the 18 OVIS numbers when the ground truth carries
OVIS occlusion labels (or with `--metric ovis`), or LV-VIS's 36 when its categories carry
`partition` (or with `--metric lvvis`); `--out` writes them, in the official order, under the
names eval/benchmarks.py declares (STAT_NAMES / OVIS_STAT_NAMES / LVVIS_STAT_NAMES).
`--gt-cache DIR` reuses the parsed GT across runs. Statistics options (commands/_statistics.py):
`--bootstrap B [--seed S]` adds confidence intervals, `--breakdown length` scores video-length
buckets, `--per-video FILE` writes per-video scores. YouTube-VIS 2022 (`--short-videos S --long-videos L`) and every line per
group of categories (`--category-groups`): commands/_eval_extras.py.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path

from vis_bench.commands import _burst_eval, _eval_extras, _statistics
from vis_bench.commands._options import (
    add_allow_dropped_argument,
    add_scored_files_arguments,
    check_outputs,
    report_dropped,
)
from vis_bench.eval.benchmarks import METRICS as DECLARED_METRICS

HELP = (
    "score a results.json with the YouTube-VIS, OVIS or LV-VIS metric (same numbers as the "
    "official evaluators)"
)
GROUP = "metric"
#: nothing to clean up once the numbers are printed and written (cli.finish)
EXIT_WITHOUT_TEARDOWN = True
#: --metric choices: the declared metrics (eval/benchmarks.py, which imports no metric code)
METRICS = ("auto", *(metric.name for metric in DECLARED_METRICS if metric.selectable))

_MAX_WARNINGS_SHOWN = 10
#: the last evaluation's input readers, kept until the process ends: it ends without a teardown
#: (cli.finish), and freeing a released-size GT and results file object by object costs a
#: noticeable share of a whole `eval` process (one kept at most, for callers of `cli.main`
#: that run `eval` many times in one process)
_KEPT_UNTIL_EXIT: list = []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scored_files_arguments(
        parser,
        "results.json to score",
        "write the numbers (12; 18 for OVIS, 36 for LV-VIS) as JSON",
        gt_help="ground-truth JSON (YouTube-VIS, OVIS or LV-VIS layout)",
    )
    parser.add_argument(
        "--metric",
        choices=METRICS,
        default="auto",
        help="auto (default): BURST for BURST's all_classes.json or its folder, LV-VIS when the "
        "GT categories carry `partition`, OVIS when the GT "
        "has occlusion labels, else YouTube-VIS; ytvis / ovis / lvvis force one (ovis needs the "
        "labels, lvvis a partition on every category); burst: BURST class-guided (--gt is its "
        "all_classes.json; docs/burst.md)",
    )
    parser.add_argument("--per-category", action="store_true", help="also print AP per category")
    parser.add_argument(
        "--per-frame",
        action="store_true",
        help="score every frame as a one-frame video (each track's mask on it an instance, "
        "with the track's score): an image-level mask AP that leaves the linking of frames out",
    )
    parser.add_argument(
        "--gt-cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the parsed GT in DIR so later runs on the same GT file skip parsing it",
    )
    add_allow_dropped_argument(parser)
    _statistics.add_statistics_arguments(parser)
    _eval_extras.add_arguments(parser)
    _burst_eval.add_arguments(parser)


def not_available_note(names: list[str]) -> str:
    """What `n/a` under the metrics table means, for the metrics that have it."""
    from vis_bench.eval.metric.params import AREA_RANGES

    small, medium = (int(high**0.5) for _, high in AREA_RANGES[1:3])
    return (
        f"n/a ({', '.join(names)}): no ground-truth track in that range, so the statistic is "
        "undefined (the official evaluator gives -1, and so does --out). Areas are a track's "
        f"mean mask area: s(mall) up to {small}x{small} pixels, m(edium) up to "
        f"{medium}x{medium}, l(arge) above; occ_light/medium/heavy are OVIS's occlusion levels"
    )


def _evaluate(args: argparse.Namespace):
    """(result, gt, res); gt and res are kept only when an option needs them."""
    if args.per_frame:
        return _evaluate_per_frame(args), None, None
    if not _statistics.needs_loaded_inputs(args):
        # the files are read on background threads while the metric's modules import
        from vis_bench.eval.input_loading import InputLoading

        loading = InputLoading(args.gt, args.results, args.gt_cache)
        _KEPT_UNTIL_EXIT[:] = [loading]
        from vis_bench.eval.api import evaluate_files

        result = evaluate_files(
            args.gt, args.results, gt_cache_dir=args.gt_cache, metric=args.metric, loading=loading
        )
        return result, None, None
    from vis_bench.eval.api import evaluate_loaded
    from vis_bench.eval.metric.gt_cache import load_ground_truth_cached
    from vis_bench.eval.metric.loading import load_ground_truth, load_results

    if args.gt_cache is None:
        gt = load_ground_truth(args.gt)
    else:
        gt = load_ground_truth_cached(args.gt, args.gt_cache)
    res = load_results(args.results, gt)
    return evaluate_loaded(gt, res, metric=args.metric), gt, res


#: options with no meaning once frames are the units (a frame's neighbours are no sample apart)
_NOT_PER_FRAME = (
    "--gt-cache",
    "--per-video",
    "--bootstrap",
    "--breakdown",
    "--short-videos",
    "--long-videos",
)


def _evaluate_per_frame(args: argparse.Namespace):
    """The metric on the files split frame by frame (eval/frame_split.py), after both were
    read and checked as they are, so a problem is named in the user's files."""
    from vis_bench.eval.api import evaluate_loaded
    from vis_bench.eval.frame_split import split_ground_truth, split_results
    from vis_bench.eval.metric.loading import (
        ground_truth_from_dict,
        load_ground_truth,
        load_results,
        results_from_list,
    )
    from vis_bench.formats.results_file import read_results
    from vis_bench.jsonio import read_json

    load_results(args.results, load_ground_truth(args.gt))
    gt_frames, ids = split_ground_truth(read_json(args.gt, "ground truth"))
    gt = ground_truth_from_dict(gt_frames, f"{args.gt} (split per frame)")
    results = split_results(read_results(args.results), ids)  # a submission zip too
    res = results_from_list(results, gt, f"{args.results} (split per frame)")
    print(f"per frame: {len(ids)} frames scored as one-frame videos")
    return evaluate_loaded(gt, res, metric=args.metric)


def _quiet_blas_threads() -> None:
    """The metric makes no BLAS call, yet NumPy's OpenBLAS starts a worker per core when it is
    imported, and they spin for a while, taking a core from the metric's own two threads. One
    BLAS thread, unless the user chose otherwise; no effect once NumPy is imported."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _metric_of_path(args: argparse.Namespace) -> None:
    """`auto` with ground truth of a kind that has its own reader (BURST's folder or
    all_classes.json) takes that kind's metric before anything is read as YouTube-VIS."""
    if args.metric != "auto":
        return
    from vis_bench.eval.declared import kind_of_path

    kind = kind_of_path(args.gt)
    if kind is not None:
        args.metric = kind.metric


def run(args: argparse.Namespace) -> int:
    _metric_of_path(args)
    check_outputs({"--out": args.out, "--per-video": args.per_video}, {"--gt-cache": args.gt_cache})
    _burst_eval.check_arguments(args)
    if args.per_frame:
        from vis_bench.commands._options import refuse_options

        refuse_options(args, _NOT_PER_FRAME, "--per-frame")
        if args.metric == _burst_eval.METRIC:
            from vis_bench.errors import InputError

            raise InputError("--per-frame is not available with --metric burst", field="--metric")
    _quiet_blas_threads()
    # No reference cycles worth collecting are made here: the collector would only re-scan the
    # imported modules and the loaded files' millions of objects, again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:
        if collecting:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import write_atomic

    if args.metric == _burst_eval.METRIC:
        return _burst_eval.run(args)
    if _eval_extras.wants_sets(args):
        return _eval_extras.run_sets(args)
    result, gt, res = _evaluate(args)
    from vis_bench.commands._pipe_table import pipe_table

    warnings = result.printed_warnings()
    for warning in warnings[:_MAX_WARNINGS_SHOWN]:
        print(f"warning: {warning}", file=sys.stderr)
    if len(warnings) > _MAX_WARNINGS_SHOWN:
        print(f"warning: ... {len(warnings) - _MAX_WARNINGS_SHOWN} more", file=sys.stderr)
    if result.metric == "ovis":
        print("OVIS metric: YouTube-VIS numbers plus AP/AR per occlusion level")
    if result.split is not None:
        print("\n".join(result.split.describe()))
    groups = _eval_extras.groups_for(args, result.cat_ids)
    columns = _eval_extras.with_groups(result, groups)
    if groups:
        _eval_extras.describe_groups(groups)
        print(_eval_extras.stats_table(columns))
    else:
        rows = [[name, _eval_extras.fmt(value)] for name, value in result.stats.items()]
        print(pipe_table(rows, ["metric", "value (%)"]))
    missing = [name for name, value in result.stats.items() if value == -1]
    if missing:
        print(not_available_note(missing))
    if args.per_category:
        cat_rows = [
            [cid, result.category_names.get(cid, ""), _eval_extras.fmt(ap)]
            for cid, ap in result.per_category_ap.items()
        ]
        print()
        print(pipe_table(cat_rows, ["category", "name", "AP (%)"]))
        if any(ap == -1 for ap in result.per_category_ap.values()):
            print("n/a: the ground truth has no track of that category, so it has no AP")
    stats = dict(result.stats)
    if args.bootstrap is not None:
        stats.update(_statistics.bootstrap_entries(result, args))
    if args.breakdown == "length":
        stats.update(_statistics.breakdown_entries(gt, res, args))
    if args.per_video is not None:
        _statistics.write_per_video(gt, res, result, args.per_video)
    if groups:
        stats["groups"] = {name: values for name, values in columns.items() if name != "all"}
    if args.out is not None:
        write_atomic(args.out, json.dumps(stats, indent=2) + "\n")
        print(f"wrote {args.out}")
    return report_dropped([(str(args.results), result)], args.allow_dropped)
