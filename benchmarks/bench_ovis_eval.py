"""What the OVIS occlusion breakdown costs over the YouTube-VIS metric, on the same files.

    python benchmarks/bench_ovis_eval.py [--repeat 5] [--official DIR] [--json OUT]

The case is ovis_scale_case.py (OVIS valid's shape: 140 videos of 40-100 frames at 720p,
25 categories, crowded videos, every GT frame labelled). Each repeat runs, in turn: the
YouTube-VIS metric (`--metric ytvis`) and the OVIS metric on both files ("cold", what `eval`
does), then both on an already loaded GT ("GT preloaded", what a sweep scoring many runs does),
with a full GC pass before each run so all modes see the same machine load.

`--official DIR` also times the OVIS authors' evaluator and compares its 18 numbers with ours:
DIR holds `ovis.py` and `oviseval.py` of qjy981010/cocoapi (886baff) with `np.float` replaced by
`float` in `accumulate()` (numpy >= 1.24), kept outside this repository; they run on PyPI
pycocotools (load = `OVIS(gt)` + `loadRes`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
from pathlib import Path

from bench_eval import _run_modes, _summary
from official_eval_process import official_modules
from ovis_scale_case import OvisCaseSpec, build_case

from vis_bench.eval.api import evaluate_files, evaluate_loaded
from vis_bench.eval.metric.loading import load_ground_truth, load_results, paused_gc
from vis_bench.eval.metric.params import OVIS_STAT_NAMES, STAT_NAMES
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

PHASES = ("load", "evaluate", "accumulate", "summarize", "total")


def time_cold(gt_path: Path, res_path: Path, metric: str):
    start = time.perf_counter()
    result = evaluate_files(gt_path, res_path, metric=metric)
    timings = {**result.timings, "total": time.perf_counter() - start}
    if result.occlusion is not None:
        timings["rematched"] = result.occlusion.rematched
    return timings, result.stats


def time_preloaded(gt, res_path: Path, metric: str):
    timings: dict[str, float] = {}
    start = time.perf_counter()
    with paused_gc():
        res = load_results(res_path, gt)
        timings["load"] = time.perf_counter() - start
        result = evaluate_loaded(gt, res, timings, metric)
        del res
    timings["total"] = time.perf_counter() - start
    return timings, result.stats


def load_official(folder: Path) -> tuple[type, type]:
    """(OVIS, OVISeval) from the official files in `folder`, on PyPI pycocotools' mask."""
    ovis, oviseval = official_modules(folder, "_official_ovis", ("ovis", "oviseval"))
    return ovis.OVIS, oviseval.OVISeval


def time_official(classes: tuple[type, type], gt_path: Path, res_path: Path):
    ovis_cls, eval_cls = classes
    timings: dict[str, float] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        begin = start = time.perf_counter()
        gt = ovis_cls(str(gt_path))
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
    stats = {n: float(v) for n, v in zip(OVIS_STAT_NAMES, evaluator.stats, strict=True)}
    return timings, stats


def _print(report: dict, repeat: int) -> None:
    modes = report["modes"]
    print(f"\nseconds, min / median of {repeat} runs")
    print(f"{'phase':<11}" + "".join(f"{m:>26}" for m in modes))
    for phase in PHASES:
        cells = [modes[m][phase] for m in modes]
        print(f"{phase:<11}" + "".join(f"{c['min']:>13.3f}{c['median']:>13.3f}" for c in cells))
    for ytvis, ovis in (("ytvis cold", "ovis cold"), ("ytvis preloaded", "ovis preloaded")):
        ratios = [modes[ovis]["total"][k] / modes[ytvis]["total"][k] for k in ("min", "median")]
        print(f"{ovis} / {ytvis}: {ratios[0]:.2f}x (min), {ratios[1]:.2f}x (median)")
    if "official ovis" in modes:
        official = modes["official ovis"]["total"]
        ratios = [official[k] / modes["ovis cold"]["total"][k] for k in ("min", "median")]
        print(f"speed-up of ovis cold over official: {ratios[0]:.1f}x / {ratios[1]:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode (default 3)")
    parser.add_argument("--cache", type=Path, default=None, help="folder for the generated case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write timings and stats here")
    parser.add_argument("--official", type=Path, default=None, metavar="DIR")
    args = parser.parse_args()

    t0 = time.perf_counter()
    gt_path, res_path = build_case(args.cache, OvisCaseSpec(seed=args.seed))
    print(f"case: {gt_path.parent} (ready in {time.perf_counter() - t0:.1f} s)")
    modes = {}
    if args.official is not None:
        classes = load_official(args.official)
        modes["official ovis"] = lambda: time_official(classes, gt_path, res_path)
    modes["ytvis cold"] = lambda: time_cold(gt_path, res_path, "ytvis")
    modes["ovis cold"] = lambda: time_cold(gt_path, res_path, "ovis")
    gt = load_ground_truth(gt_path)
    modes["ytvis preloaded"] = lambda: time_preloaded(gt, res_path, "ytvis")
    modes["ovis preloaded"] = lambda: time_preloaded(gt, res_path, "ovis")
    provenance = start_provenance()
    load_before = os.getloadavg()
    runs, stats = _run_modes(modes, args.repeat)
    report = {
        "modes": {name: _summary(r) for name, r in runs.items()},
        "runs": runs,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "stats": stats["ovis cold"],
    }
    _print(report, args.repeat)
    print(f"load average before {load_before}, after {report['loadavg_after']}")
    ovis, ytvis = stats["ovis cold"], stats["ytvis cold"]
    print(f"(pair, setting) combinations re-matched: {runs['ovis cold'][0]['rematched']}")
    print("max |ytvis - ovis| over the 12:", max(abs(ovis[n] - ytvis[n]) for n in STAT_NAMES))
    if "official ovis" in stats:
        official = stats["official ovis"]
        print("max |official - ovis| over the 18:", max(abs(official[n] - ovis[n]) for n in ovis))
    print("\nstats: " + ", ".join(f"{k}={v:.6f}" for k, v in ovis.items()))
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()
