"""Per-phase timing of the YouTube-VIS metric on a case the size of YouTube-VIS 2021 valid.

As a script (prints a table, optionally writes JSON):

    python benchmarks/bench_eval.py [--repeat 3] [--cache DIR] [--json OUT]

With pytest-benchmark (this file is outside `testpaths`, so a plain `pytest` never runs it):

    pytest benchmarks/bench_eval.py --benchmark-only

Phases follow the API: load (GT + results JSON), evaluate (IoUs + matching), accumulate,
summarize. "cold" parses both files; "GT preloaded" reuses a loaded GroundTruth, as a sweep that
scores many results files against one split does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import pytest
from ytvis_scale_case import CaseSpec, build_case

from vis_bench.eval.accumulate import accumulate
from vis_bench.eval.api import evaluate_files, evaluate_loaded
from vis_bench.eval.iou import compute_pairs
from vis_bench.eval.loading import load_ground_truth, load_results
from vis_bench.eval.matching import match
from vis_bench.eval.summary import summarize

PHASES = ("load", "evaluate", "accumulate", "summarize", "total")


def time_cold(gt_path: Path, res_path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """One end-to-end run from the two files: (timings per phase, stats)."""
    result = evaluate_files(gt_path, res_path)
    return dict(result.timings), result.stats


def time_gt_preloaded(gt, res_path: Path) -> dict[str, float]:
    """Results loaded and scored against an already loaded GroundTruth."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    res = load_results(res_path, gt)
    timings["load"] = time.perf_counter() - start
    evaluate_loaded(gt, res, timings)
    timings["total"] = sum(timings[k] for k in PHASES[:-1])
    return timings


def _summary(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    return {
        phase: {
            "min": min(r[phase] for r in runs),
            "median": statistics.median(r[phase] for r in runs),
        }
        for phase in PHASES
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode (default 3)")
    parser.add_argument("--cache", type=Path, default=None, help="folder for the generated case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write timings and stats here")
    args = parser.parse_args()

    t0 = time.perf_counter()
    gt_path, res_path = build_case(args.cache, CaseSpec(seed=args.seed))
    print(f"case: {gt_path.parent} (ready in {time.perf_counter() - t0:.1f} s)")

    cold, stats = [], {}
    for _ in range(args.repeat):
        timings, stats = time_cold(gt_path, res_path)
        cold.append(timings)
    start = time.perf_counter()
    gt = load_ground_truth(gt_path)
    gt_load = time.perf_counter() - start
    warm = [time_gt_preloaded(gt, res_path) for _ in range(args.repeat)]

    report = {"cold": _summary(cold), "gt_preloaded": _summary(warm), "gt_load_s": gt_load}
    print(f"\n{'phase':<11} {'cold min':>9} {'cold med':>9} {'GT-pre min':>11} {'GT-pre med':>11}")
    for phase in PHASES:
        c, w = report["cold"][phase], report["gt_preloaded"][phase]
        print(
            f"{phase:<11} {c['min']:9.3f} {c['median']:9.3f} {w['min']:11.3f} {w['median']:11.3f}"
        )
    print(f"(GT load alone: {gt_load:.3f} s; times in seconds, {args.repeat} runs each)")
    print("\nstats: " + ", ".join(f"{k}={v:.6f}" for k, v in stats.items()))
    if args.json is not None:
        report["stats"] = stats
        args.json.write_text(json.dumps(report, indent=2) + "\n")


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
