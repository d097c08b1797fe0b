"""`eval --metric lvvis` as a user runs it, a whole process, on LV-VIS's 1,196-category grid.

    python benchmarks/bench_lvvis_eval.py [--repeat 5] [--official DIR] [--cache DIR] [--json OUT]

Two cases: the largest public golden case (tests/fixtures/golden/lvvis_eval/public/case_07: 1,196
categories, 6 videos) and lvvis_scale_case.py (1,000 videos, 1,196 categories, generated once
into a temporary folder). Each repeat runs, per case, `python run_bench.py eval --gt GT
--results RES --metric lvvis --out STATS.json` as its own process and records its wall time and
peak resident memory (the child's own rusage); the 36 numbers of case_07 are compared with the
official ones (expected.json). Then one in-process run per case gives the time of each phase.

`--official-lvvis DIR` (a checkout of haochenheheda/LVVIS, GPL-3.0, kept outside this
repository) adds the official LV-VIS evaluator itself on the public case, run unmodified by
official_lvvis_process.py; it is not run on the generated case, where one of its runs takes
minutes and the stand-in below gives a lower bound. `--official DIR` adds, as a stand-in for its
time, the official YouTube-VIS evaluator that the LV-VIS code is a copy of
(DIR: `ytvos.py` and `ytvoseval.py` of youtubevos/cocoapi with the two numpy edits, see
bench_eval.py; run by official_eval_process.py, so interleaved with ours on the same load). It
walks the same (video, category) grid and accumulates the same arrays; the LV-VIS code adds the
base/novel summary lines on top, so the stand-in's time is a lower bound of the official
LV-VIS time. Its 12 numbers are compared with our 12 overall ones (no case here has a crowd
track, so they must agree). Both sides' sources are compiled to bytecode first, as after any
first run (this VM sets PYTHONDONTWRITEBYTECODE).
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

from lvvis_scale_case import LvvisCaseSpec, build_case

from vis_bench.eval.api import evaluate_files
from vis_bench.eval.lvvis.metric import LVVIS_STAT_NAMES
from vis_bench.eval.metric.params import STAT_NAMES
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PUBLIC_CASE = REPO / "tests" / "fixtures" / "golden" / "lvvis_eval" / "public" / "case_07"
#: the side running the official LV-VIS evaluator itself (official_lvvis_process.py)
OFFICIAL_LVVIS = "official LV-VIS"
#: start-up floors, timed interleaved with the sides on the public case: the interpreter with its
#: site packages, and the same importing NumPy, which every NumPy-based evaluator pays (both
#: the official code and ours); the official time over the second is the most any such
#: process can gain on this case
FLOORS = {"interpreter": ["-c", "pass"], "interpreter + NumPy": ["-c", "import numpy"]}


def compile_sources(official: Path | None) -> None:
    """Bytecode for every module either process imports from source (module doc)."""
    for folder in (REPO / "vis_bench", official):
        if folder is not None and not compileall.compile_dir(str(folder), quiet=1):
            raise SystemExit(f"compileall failed in {folder}")
    scripts = ("official_eval_process.py", "official_lvvis_process.py")
    for script in (REPO / "run_bench.py", *(HERE / name for name in scripts)):
        if not compileall.compile_file(str(script), quiet=1):
            raise SystemExit(f"compileall failed for {script}")


#: runs a command and prints its wall time, peak resident kilobytes and exit status: a small
#: process of its own, since a child's peak memory counts its parent's at the fork
_LAUNCHER = """
import os, sys, time
quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=quiet)
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def timed_process(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one child process run to its end."""
    launched = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, cwd=REPO
    )
    seconds, peak_kb, code = launched.stdout.split()
    # exit status 1 is eval's answer to predictions it dropped (case_07 has one of an unlisted
    # category, on purpose); the numbers are written all the same
    if launched.returncode != 0 or int(code) not in (0, 1):
        raise SystemExit(f"{command[:3]} failed: {launched.stderr or code}")
    return float(seconds), int(peak_kb) / 1024  # Linux: kilobytes


def _summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def run_case(name: str, gt: Path, res: Path, args: argparse.Namespace, tmp: Path) -> dict:
    key = name.split()[0]
    ours_out, theirs_out = tmp / f"{key}_ours.json", tmp / f"{key}_official.json"
    ours = [sys.executable, str(REPO / "run_bench.py"), "eval", "--gt", str(gt)]
    ours += ["--results", str(res), "--metric", "lvvis", "--out", str(ours_out)]
    official = [sys.executable, str(HERE / "official_eval_process.py"), str(args.official)]
    official += [str(gt), str(res), str(theirs_out)]
    lvvis_out = tmp / f"{key}_official_lvvis.json"
    lvvis = [sys.executable, str(HERE / "official_lvvis_process.py"), str(args.official_lvvis)]
    lvvis += [str(gt), str(res), str(lvvis_out)]
    runs: dict[str, dict[str, list[float]]] = {"vis-bench": {"seconds": [], "peak_mib": []}}
    if args.official is not None:
        runs["official stand-in"] = {"seconds": [], "peak_mib": []}
    if args.official_lvvis is not None and (gt.parent / "expected.json").is_file():
        runs[OFFICIAL_LVVIS] = {"seconds": [], "peak_mib": []}
    sides = [(OFFICIAL_LVVIS, lvvis), ("official stand-in", official), ("vis-bench", ours)]
    if OFFICIAL_LVVIS in runs:
        for floor, command in FLOORS.items():
            runs[floor] = {"seconds": [], "peak_mib": []}
            sides.append((floor, [sys.executable, *command]))
    for _ in range(args.repeat):
        for side, command in sides:
            if side in runs:
                seconds, peak = timed_process(command)
                runs[side]["seconds"].append(seconds)
                runs[side]["peak_mib"].append(peak)
    stats = json.loads(ours_out.read_text())
    report: dict = {
        "gt": str(gt.relative_to(REPO) if gt.is_relative_to(REPO) else gt),
        "runs": runs,
        "seconds": {side: _summary(r["seconds"]) for side, r in runs.items()},
        "peak_mib": {side: max(r["peak_mib"]) for side, r in runs.items()},
        "stat_names_written": list(stats) == list(LVVIS_STAT_NAMES),
    }
    expected = gt.parent / "expected.json"
    if expected.is_file():
        want = json.loads(expected.read_text())["stats_by_name"]
        report["max_difference_to_official_lvvis"] = max(abs(stats[k] - v) for k, v in want.items())
    if args.official is not None:
        theirs = dict(zip(STAT_NAMES, json.loads(theirs_out.read_text()), strict=True))
        report["max_difference_to_stand_in_overall"] = max(
            abs(stats[k] - v) for k, v in theirs.items()
        )
        report["speed_up"] = {
            k: report["seconds"]["official stand-in"][k] / report["seconds"]["vis-bench"][k]
            for k in ("min", "median")
        }
    if OFFICIAL_LVVIS in runs:
        theirs = dict(zip(STAT_NAMES, json.loads(lvvis_out.read_text()), strict=True))
        report["max_difference_to_official_lvvis_process"] = max(
            abs(stats[k] - v) for k, v in theirs.items()
        )
        report["speed_up_official_lvvis"] = {
            k: report["seconds"][OFFICIAL_LVVIS][k] / report["seconds"]["vis-bench"][k]
            for k in ("min", "median")
        }
        report["ceiling_over_numpy_start"] = {
            k: report["seconds"][OFFICIAL_LVVIS][k] / report["seconds"]["interpreter + NumPy"][k]
            for k in ("min", "median")
        }
    result = evaluate_files(gt, res, metric="lvvis")
    report["in_process_phases_s"] = result.timings
    report["categories"] = len(result.cat_ids)
    report["categories_with_gt"] = len(result.accumulated.cat_ids)
    report["videos"] = len(result.video_ids)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--official", type=Path, default=None, metavar="DIR")
    parser.add_argument("--official-lvvis", type=Path, default=None, metavar="DIR")
    parser.add_argument("--cache", type=Path, default=None, help="folder for the generated case")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()
    generated = build_case(args.cache, LvvisCaseSpec())
    compile_sources(args.official)
    if args.official_lvvis is not None:
        compile_sources(args.official_lvvis / "evaluate")
    provenance = start_provenance()
    cases = {
        "public case_07": (PUBLIC_CASE / "gt.json", PUBLIC_CASE / "results.json"),
        "generated (lvvis_scale_case.py)": generated,
    }
    report: dict = {"repeat": args.repeat, "cpu_count": os.cpu_count(), "cases": {}}
    with tempfile.TemporaryDirectory(prefix="lvvis_eval_") as tmp:
        for name, (gt, res) in cases.items():
            report["cases"][name] = run_case(name, gt, res, args, Path(tmp))
    report["official_stand_in"] = (
        None
        if args.official is None
        else "youtubevos/cocoapi ytvos.py + ytvoseval.py (f3f9948, two numpy edits) via "
        "benchmarks/official_eval_process.py: a lower bound of the LV-VIS evaluator's time"
    )
    report["bytecode"] = "both sides compiled beforehand (compileall), as after a first run"
    for name, case in report["cases"].items():
        for side, seconds in case["seconds"].items():
            print(
                f"{name:<34} {side:<18} {seconds['min']:.2f} s min, {seconds['median']:.2f} s "
                f"median, peak {case['peak_mib'][side]:.0f} MiB"
            )
        keys = (
            ("speed_up", "stand-in"),
            ("speed_up_official_lvvis", "LV-VIS"),
            ("ceiling_over_numpy_start", "LV-VIS over NumPy's start-up: the ceiling"),
        )
        for key, against in keys:
            if key in case:
                print(f"{name:<34} speed-up {case[key]['median']:.1f}x (median, {against})")
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()
