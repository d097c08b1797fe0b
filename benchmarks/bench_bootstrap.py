"""Cost of the bootstrap intervals against one evaluation, on the 421-video scale case.

    python benchmarks/bench_bootstrap.py [--replicates 1000] [--repeat 3] [--cache DIR] [--json OUT]

Times, in one process and interleaved per repeat: one cold evaluation (`evaluate_files`, what
`eval` does), the bootstrap of AP/AP50/AP75/AR10 from that evaluation's matching (what
`eval --bootstrap B` adds), the paired comparison of two results files (what `compare` adds after
its two evaluations) and the per-video scores of `eval --per-video`. Prints seconds (min / median)
and each cost as a multiple of one evaluation.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path

import numpy as np
from ytvis_scale_case import build_case

from vis_bench.eval.api import evaluate_files
from vis_bench.eval.stats.bootstrap import bootstrap, paired_difference
from vis_bench.eval.stats.per_video import per_video_scores
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance


def _timed(fn):
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    gt_path, res_path = build_case(args.cache)
    provenance = start_provenance()
    times: dict[str, list[float]] = {"evaluate": [], "bootstrap": [], "paired": [], "per_video": []}
    for _ in range(args.repeat):
        seconds, result = _timed(lambda: evaluate_files(gt_path, res_path))
        times["evaluate"].append(seconds)
        matches = VideoMatches.from_pairs(result.pairs, result.matches)
        seconds, boot = _timed(lambda m=matches: bootstrap(m, args.replicates, seed=0))
        times["bootstrap"].append(seconds)
        ap = result.stats["AP"]
        seconds, _ = _timed(
            lambda m=matches, a=ap: paired_difference(m, m, a, a, "AP", args.replicates, seed=0)
        )
        times["paired"].append(seconds)
        seconds, _ = _timed(lambda m=matches: per_video_scores(m))
        times["per_video"].append(seconds)
    base = np.array(times["evaluate"])
    report = {
        "videos": int(matches.n_videos),
        "results_counted": int(len(matches.score)),
        "replicates": args.replicates,
        "AP": result.stats["AP"],
        "AP_ci": list(boot.intervals["AP"]),
        "seconds": {k: {"min": min(v), "median": statistics.median(v)} for k, v in times.items()},
        "ratio_to_one_evaluation": {
            k: {
                "min": float(min(np.array(v) / base)),
                "median": float(statistics.median(np.array(v) / base)),
            }
            for k, v in times.items()
            if k != "evaluate"
        },
    }
    for name, values in times.items():
        ratio = (
            ""
            if name == "evaluate"
            else (f"  ({report['ratio_to_one_evaluation'][name]['median']:.2f}x one evaluation)")
        )
        print(f"{name:<10} {min(values):7.3f} / {statistics.median(values):7.3f} s{ratio}")
    print(
        f"AP {100 * ap:.2f}, 95% interval [{100 * boot.intervals['AP'][0]:.2f}, "
        f"{100 * boot.intervals['AP'][1]:.2f}] over {matches.n_videos} videos"
    )
    if args.json:
        write_json_with_provenance(args.json, report, provenance)


if __name__ == "__main__":
    main()
