"""`eval` as a user runs it, a whole process from start to stats file, against the official
evaluator's own process on the same files (the 421-video case of ytvis_scale_case.py).

    python benchmarks/bench_eval_process.py --official DIR [--repeat 7] [--json OUT]

DIR holds `ytvos.py` and `ytvoseval.py` of youtubevos/cocoapi with the two numpy edits of the
spec (kept outside this repository; see bench_eval.py). Each repeat runs the official process
(official_eval_process.py: the official files, pycocotools and NumPy, nothing of ours), then
`python run_bench.py eval --gt GT --results RES --out STATS.json`, so both see the same machine
load; start-up (interpreter, imports) is part of both times. Both sides' Python sources are
compiled to bytecode first (compileall), as after any first run or a regular install: a process
that compiles its sources each time (PYTHONDONTWRITEBYTECODE, an editable install never run
before) would time the compiler. The stats files are compared at the end (they must be
identical).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ytvis_scale_case import CaseSpec, build_case

from vis_bench.eval.metric.params import STAT_NAMES
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


def compile_sources(official: Path) -> None:
    """Bytecode for every module either process imports from source (module doc)."""
    for folder in (REPO / "vis_bench", official):
        if not compileall.compile_dir(str(folder), quiet=1):
            raise SystemExit(f"compileall failed in {folder}")
    for script in (REPO / "run_bench.py", HERE / "official_eval_process.py"):
        if not compileall.compile_file(str(script), quiet=1):
            raise SystemExit(f"compileall failed for {script}")


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True, metavar="DIR")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=None, help="folder for the generated case")
    parser.add_argument("--json", type=Path, default=None, help="write the timings here")
    args = parser.parse_args()
    gt, results = build_case(args.cache, CaseSpec())
    compile_sources(args.official)
    provenance = start_provenance()
    times: dict[str, list[float]] = {"official": [], "vis-bench": []}
    with tempfile.TemporaryDirectory(prefix="eval_process_") as tmp:
        ours, theirs = Path(tmp) / "ours.json", Path(tmp) / "official.json"
        official = [sys.executable, str(HERE / "official_eval_process.py"), str(args.official)]
        official += [str(gt), str(results), str(theirs)]
        vis_bench = [sys.executable, str(REPO / "run_bench.py"), "eval", "--gt", str(gt)]
        vis_bench += ["--results", str(results), "--out", str(ours)]
        load_before = os.getloadavg()
        for _ in range(args.repeat):
            times["official"].append(_timed(official))
            times["vis-bench"].append(_timed(vis_bench))
        load_after = os.getloadavg()
        ours_stats = json.loads(ours.read_text())
        official_stats = dict(zip(STAT_NAMES, json.loads(theirs.read_text()), strict=True))
    difference = max(abs(ours_stats[k] - official_stats[k]) for k in official_stats)
    summary = {name: {"min": min(v), "median": statistics.median(v)} for name, v in times.items()}
    ratio = {k: summary["official"][k] / summary["vis-bench"][k] for k in ("min", "median")}
    report = {
        "case": str(gt.parent),
        "repeat": args.repeat,
        "seconds": summary,
        "runs": times,
        "speed_up": ratio,
        "max_stat_difference": difference,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "cpu_count": os.cpu_count(),
        "bytecode": "both sides compiled beforehand (compileall), as after a first run",
        "official_process": "benchmarks/official_eval_process.py",
    }
    for name, value in summary.items():
        print(f"{name:<10} process: {value['min']:.2f} s min, {value['median']:.2f} s median")
    print(f"speed-up: {ratio['min']:.1f}x (min), {ratio['median']:.1f}x (median)")
    print(f"max |stat difference| {difference:.1e}; load {load_before} -> {load_after}")
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()
