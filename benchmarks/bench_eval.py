"""Per-phase timing of the YouTube-VIS metric on a case the size of YouTube-VIS 2021 valid.

As a script (prints a table, optionally writes JSON):

    python benchmarks/bench_eval.py [--repeat 5] [--official DIR] [--reference STATS.json]

`--official DIR` also times the official evaluator: DIR holds `ytvos.py` and `ytvoseval.py` of
youtubevos/cocoapi (with the two numpy edits of the spec), kept outside this repository. Its runs
are interleaved with ours (official, then vis-bench cold, per repeat) so both see the same load.
`--reference` compares the 12 stats with a `--json` report of an earlier run (e.g. of the
previous implementation) and prints the largest difference.

With pytest-benchmark (this file is outside `testpaths`, so a plain `pytest` never runs it):

    pytest benchmarks/bench_eval.py --benchmark-only

Phases follow the API: load (GT + results JSON), evaluate (IoUs + matching), accumulate,
summarize. "cold" parses both files; "gt-cache hit" reads the GT from `--gt-cache`; "GT
preloaded" reuses a loaded GroundTruth, as a sweep that scores many results files against one
split does.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from official_eval_process import load_official
from ytvis_scale_case import CaseSpec, build_case

from vis_bench.eval.api import evaluate_files, evaluate_loaded
from vis_bench.eval.metric.accumulate import accumulate
from vis_bench.eval.metric.gt_cache import load_ground_truth_cached
from vis_bench.eval.metric.iou import compute_pairs
from vis_bench.eval.metric.loading import load_ground_truth, load_results, paused_gc
from vis_bench.eval.metric.matching import match
from vis_bench.eval.metric.params import STAT_NAMES
from vis_bench.eval.metric.summary import summarize
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

PHASES = ("load", "evaluate", "accumulate", "summarize", "total")
Timings = dict[str, float]
Stats = dict[str, float]


def time_cold(gt_path: Path, res_path: Path) -> tuple[Timings, Stats]:
    """One end-to-end run from the two files: (timings per phase, stats); total is the wall
    time of the whole call."""
    start = time.perf_counter()
    result = evaluate_files(gt_path, res_path)
    return {**result.timings, "total": time.perf_counter() - start}, result.stats


def time_gt_cache_hit(gt_path: Path, res_path: Path, cache_dir: Path) -> tuple[Timings, Stats]:
    """End to end with `--gt-cache` already filled (the GT comes from the cache)."""
    start = time.perf_counter()
    result = evaluate_files(gt_path, res_path, gt_cache_dir=cache_dir)
    return {**result.timings, "total": time.perf_counter() - start}, result.stats


def time_gt_preloaded(gt, res_path: Path) -> tuple[Timings, Stats]:
    """Results loaded and scored against an already loaded GroundTruth."""
    timings: Timings = {}
    start = time.perf_counter()
    with paused_gc():  # as evaluate_files and evaluate_predictions do
        res = load_results(res_path, gt)
        timings["load"] = time.perf_counter() - start
        result = evaluate_loaded(gt, res, timings)
        del res
    timings["total"] = time.perf_counter() - start
    return timings, result.stats


def time_official(
    classes: tuple[type, type], gt_path: Path, res_path: Path
) -> tuple[Timings, Stats]:
    """One official run, timed per phase like ours (load = YTVOS(gt) + loadRes)."""
    ytvos_cls, eval_cls = classes
    timings: Timings = {}
    with contextlib.redirect_stdout(io.StringIO()):
        begin = start = time.perf_counter()
        gt = ytvos_cls(str(gt_path))
        dt = gt.loadRes(str(res_path))
        timings["load"] = time.perf_counter() - start
        start = time.perf_counter()
        evaluator = eval_cls(gt, dt, "segm")
        evaluator.evaluate()
        timings["evaluate"] = time.perf_counter() - start
        start = time.perf_counter()
        evaluator.accumulate()
        timings["accumulate"] = time.perf_counter() - start
        start = time.perf_counter()
        evaluator.summarize()
        timings["summarize"] = time.perf_counter() - start
    timings["total"] = time.perf_counter() - begin
    return timings, {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats, strict=True)}


def _summary(runs: list[Timings]) -> dict[str, dict[str, float]]:
    return {
        phase: {
            "min": min(r[phase] for r in runs),
            "median": statistics.median(r[phase] for r in runs),
        }
        for phase in PHASES
    }


def _max_difference(a: Stats, b: Stats) -> float:
    return max(abs(a[name] - b[name]) for name in STAT_NAMES)


def _run_modes(modes: dict[str, Callable[[], tuple[Timings, Stats]]], repeat: int):
    """Run every mode once per repeat, in turn, with a full GC pass before each run."""
    runs: dict[str, list[Timings]] = {name: [] for name in modes}
    stats: dict[str, Stats] = {}
    for _ in range(repeat):
        for name, run in modes.items():
            gc.collect()
            timings, stats[name] = run()
            runs[name].append(timings)
    return runs, stats


def _print_table(report: dict, repeat: int) -> None:
    modes = report["modes"]
    print(f"\nseconds, min / median of {repeat} runs")
    print(f"{'phase':<11}" + "".join(f"{m:>22}" for m in modes))
    for phase in PHASES:
        cells = [modes[m][phase] for m in modes]
        print(f"{phase:<11}" + "".join(f"{c['min']:>11.3f}{c['median']:>11.3f}" for c in cells))
    if "official" not in modes:
        return
    official = modes["official"]["total"]
    for m in list(modes)[1:]:
        ratios = [official[k] / modes[m]["total"][k] for k in ("min", "median")]
        print(f"speed-up of {m} over official: {ratios[0]:.1f}x (min), {ratios[1]:.1f}x (median)")


def _print_stats(stats: dict[str, Stats], reference: Path | None) -> None:
    """Largest stat difference of each mode (and of a reference report) against cold."""
    for name, values in stats.items():
        if name != "cold":
            print(f"max |stat difference| cold vs {name}: {_max_difference(stats['cold'], values)}")
    if reference is not None:
        diff = _max_difference(stats["cold"], json.loads(reference.read_text())["stats"])
        print(f"max |stat difference| vs {reference}: {diff}")
    print("\nstats: " + ", ".join(f"{k}={v:.6f}" for k, v in stats["cold"].items()))


def _modes(gt_path: Path, res_path: Path, official: Path | None, cache_dir: Path):
    """The timed modes, official first; fills the GT cache for the cache-hit mode."""
    modes: dict[str, Callable[[], tuple[Timings, Stats]]] = {}
    if official is not None:
        classes = load_official(official)
        modes["official"] = lambda: time_official(classes, gt_path, res_path)
    modes["cold"] = lambda: time_cold(gt_path, res_path)
    load_ground_truth_cached(gt_path, cache_dir)
    modes["gt-cache hit"] = lambda: time_gt_cache_hit(gt_path, res_path, cache_dir)
    gt = load_ground_truth(gt_path)
    modes["GT preloaded"] = lambda: time_gt_preloaded(gt, res_path)
    return modes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode (default 3)")
    parser.add_argument("--cache", type=Path, default=None, help="folder for the generated case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write timings and stats here")
    parser.add_argument(
        "--official", type=Path, default=None, metavar="DIR", help="also time the official code"
    )
    parser.add_argument(
        "--reference", type=Path, default=None, help="a --json report whose stats to compare with"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    gt_path, res_path = build_case(args.cache, CaseSpec(seed=args.seed))
    print(f"case: {gt_path.parent} (ready in {time.perf_counter() - t0:.1f} s)")
    provenance = start_provenance()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gt_cache_") as cache_dir:
        modes = _modes(gt_path, res_path, args.official, Path(cache_dir))
        runs, stats = _run_modes(modes, args.repeat)
    report: dict = {
        "modes": {name: _summary(r) for name, r in runs.items()},
        "runs": runs,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "stats": stats["cold"],
    }
    _print_table(report, args.repeat)
    print(f"load average before {load_before}, after {report['loadavg_after']}")
    _print_stats(stats, args.reference)
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


# ---- pytest-benchmark entry points (run explicitly: pytest benchmarks/bench_eval.py) ----


@pytest.fixture(scope="module")
def case_paths():
    return build_case()


@pytest.fixture(scope="module")
def loaded(case_paths):
    gt = load_ground_truth(case_paths[0])
    return gt, load_results(case_paths[1], gt)


def test_total(benchmark, case_paths):
    benchmark.pedantic(evaluate_files, args=case_paths, rounds=3, iterations=1)


def test_load(benchmark, case_paths):
    def load():
        gt = load_ground_truth(case_paths[0])
        return load_results(case_paths[1], gt)

    benchmark.pedantic(load, rounds=3, iterations=1)


def test_evaluate(benchmark, loaded):
    benchmark.pedantic(lambda: match(compute_pairs(*loaded)), rounds=3, iterations=1)


def test_accumulate(benchmark, loaded):
    pairs = compute_pairs(*loaded)
    matches = match(pairs)
    benchmark.pedantic(accumulate, args=(pairs, matches), rounds=5, iterations=1)


def test_summarize(benchmark, loaded):
    pairs = compute_pairs(*loaded)
    acc = accumulate(pairs, match(pairs))
    benchmark.pedantic(summarize, args=(acc,), rounds=20, iterations=1)


if __name__ == "__main__":
    main()
