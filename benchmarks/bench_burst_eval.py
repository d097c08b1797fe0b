"""`eval --metric burst` as a user runs it, a whole process from start to stats file, against
the BURST toolkit's own process and TrackEval's BURST path on the same files.

    python benchmarks/bench_burst_eval.py [--toolkit DIR] [--repeat 5] [--cache DIR] [--json OUT]

Cases: the largest public golden case (by the size of its GT and prediction files) and the
generated burst_scale_case.py (300 sequences, 200 classes). Sides, each a process, run in turn
within every repeat so all see the same machine load:

* toolkit: `burstapi/eval/run.py --task class_guided --nprocs 1 --output` of DIR, a checkout of
  Ali2500/BURST-benchmark (c143198) kept outside this repository, with the minimal numpy-2
  patch of tests/fixtures/golden/burst_eval/README.md (`np.float`/`np.int`/`np.bool` -> the
  builtins in hota.py, track_map.py, burst_base.py and burst_ow_base.py). The toolkit pins
  Python 3.7 and numpy 1.21; here it runs on this interpreter and numpy 2, where the golden
  README found every number identical. Left out without `--toolkit`.
* trackeval: trackeval_burst_process.py, TrackEval 1.3.0's BURST dataset and Evaluator.
* vis-bench: `python run_bench.py eval --gt GT_DIR --results PRED --metric burst --out OUT`.

Each time is the process's wall time; its peak memory is the child's `ru_maxrss` (os.wait4).
All sources are compiled to bytecode first (compileall), as after any first run. The headline
numbers of every side are compared with vis-bench's at the end.
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
from pathlib import Path

from burst_scale_case import BurstCaseSpec, build_case

from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PUBLIC = REPO / "tests/fixtures/golden/burst_eval/public"


def largest_public_case() -> Path:
    def size(case: Path) -> int:
        return (case / "gt/all_classes.json").stat().st_size + (case / "pred.json").stat().st_size

    return max((case for case in PUBLIC.iterdir() if (case / "pred.json").is_file()), key=size)


def compile_sources(toolkit: Path | None) -> None:
    folders = [REPO / "vis_bench"] + ([toolkit / "burstapi"] if toolkit else [])
    for folder in folders:
        if not compileall.compile_dir(str(folder), quiet=1):
            raise SystemExit(f"compileall failed in {folder}")
    for script in (REPO / "run_bench.py", HERE / "trackeval_burst_process.py"):
        if not compileall.compile_file(str(script), quiet=1):
            raise SystemExit(f"compileall failed for {script}")


#: a small process that starts the measured one and reports its wall time and peak memory:
#: started from this (large) process directly, the child's ru_maxrss would count the memory of
#: the fork it began as (Linux keeps the pre-exec high-water mark)
LAUNCHER = """
import json, os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    json.dump([seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)], out)
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one process, measured by LAUNCHER."""
    with tempfile.TemporaryDirectory() as tmp:
        report, errors = Path(tmp) / "report.json", Path(tmp) / "stderr"
        with errors.open("wb") as err:
            subprocess.run(
                [sys.executable, "-c", LAUNCHER, str(report), *command],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                check=True,
            )
        seconds, mib, code = json.loads(report.read_text())
        if code != 0:
            raise SystemExit(f"{command[:3]} failed: {errors.read_text()[-2000:]}")
    return seconds, mib


def headline(path: Path) -> dict[str, float | None]:
    """The 12 numbers of either output layout (the toolkit's nested one or vis-bench's flat)."""
    data = json.loads(path.read_text())
    if "HOTA" in data and isinstance(data["HOTA"], dict):
        return {
            f"{stat}_{split}": v for stat, splits in data.items() for split, v in splits.items()
        }
    return {k: v for k, v in data.items() if k.split("_")[0] in ("HOTA", "DetA", "AssA", "AP")}


def sides(toolkit: Path | None, gt: Path, pred: Path, out: Path) -> dict[str, list[str]]:
    python = sys.executable
    commands = {}
    if toolkit is not None:
        commands["toolkit"] = [python, str(toolkit / "burstapi/eval/run.py"), "--pred", str(pred)]
        commands["toolkit"] += ["--gt", str(gt), "--task", "class_guided", "--nprocs", "1"]
        commands["toolkit"] += ["--output", str(out / "toolkit.json")]
    commands["trackeval"] = [python, str(HERE / "trackeval_burst_process.py"), "--gt", str(gt)]
    commands["trackeval"] += ["--pred", str(pred), "--output", str(out / "trackeval.json")]
    commands["vis-bench"] = [python, str(REPO / "run_bench.py"), "eval", "--gt", str(gt)]
    commands["vis-bench"] += ["--results", str(pred), "--metric", "burst"]
    commands["vis-bench"] += ["--out", str(out / "vis-bench.json")]
    return commands


def measure(name: str, gt: Path, pred: Path, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    if args.toolkit is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(args.toolkit), env.get("PYTHONPATH")])
        )
    runs: dict[str, list[float]] = {}
    memory: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="burst_bench_") as tmp:
        commands = sides(args.toolkit, gt, pred, Path(tmp))
        load_before = os.getloadavg()
        for _ in range(args.repeat):
            for side, command in commands.items():
                seconds, mib = timed(command, env)
                runs.setdefault(side, []).append(seconds)
                memory[side] = max(memory.get(side, 0.0), mib)
        load_after = os.getloadavg()
        ours = headline(Path(tmp) / "vis-bench.json")
        differences = {}
        for side in commands:
            theirs = headline(Path(tmp) / f"{side}.json")
            differences[side] = max(
                abs(ours[k] - v) if v is not None and ours[k] is not None else 0.0
                for k, v in theirs.items()
            )
    median = {side: statistics.median(v) for side, v in runs.items()}
    report = {
        "gt": str(gt),
        "predictions": str(pred),
        "bytes": {"gt": (gt / "all_classes.json").stat().st_size, "pred": pred.stat().st_size},
        "seconds": {side: {"min": min(v), "median": median[side]} for side, v in runs.items()},
        "runs": runs,
        "peak_rss_mib": memory,
        "speed_up_median": {s: median[s] / median["vis-bench"] for s in median if s != "vis-bench"},
        "max_headline_difference": differences,
        "headline": ours,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
    }
    for side, value in report["seconds"].items():
        print(
            f"{name:<10} {side:<10} {value['median']:7.2f} s median, {value['min']:7.2f} s min, "
            f"peak {memory[side]:.0f} MiB, max |diff| {differences[side]:.1e}"
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toolkit", type=Path, default=None, metavar="DIR")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=None, help="folder for the generated case")
    parser.add_argument("--json", type=Path, default=None, help="write the timings here")
    args = parser.parse_args()
    spec = BurstCaseSpec()
    generated_gt, generated_pred = build_case(args.cache, spec)
    public = largest_public_case()
    compile_sources(args.toolkit)
    provenance = start_provenance()
    cases = {
        f"public {public.name}": measure(public.name, public / "gt", public / "pred.json", args),
        "generated": measure("generated", generated_gt, generated_pred, args),
    }
    cases["generated"]["spec"] = spec.__dict__
    report = {
        "repeat": args.repeat,
        "cases": cases,
        "cpu_count": os.cpu_count(),
        "toolkit": None
        if args.toolkit is None
        else "Ali2500/BURST-benchmark c143198, minimal numpy-2 alias patch, --nprocs 1",
        "trackeval_process": "benchmarks/trackeval_burst_process.py",
        "bytecode": "every side compiled beforehand (compileall), as after a first run",
    }
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()
