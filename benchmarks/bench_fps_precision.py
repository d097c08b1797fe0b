"""FPS with a stated precision: the default run timed as an A/A check, quiet and loaded, and
its untimed work quiet and loaded.

    python benchmarks/bench_fps_precision.py aa [--load 2] [--cell-budget-s S] [--max-rounds N]
        [--precision P] [--json FILE]
    python benchmarks/bench_fps_precision.py default [--run-dir DIR] [--json FILE]
    python benchmarks/bench_fps_precision.py untimed [--load 2] [--wait-policy passive|default]
        [--json FILE]

Each mode runs `run_bench.py run` on the default config (configs/default.yaml, the README's
run), written to `--work` (each run's folder, `--run-dir` included, is emptied first: a sweep
resumes from what its folder holds, so an old folder's records would be reported, not timed):

- `aa`: every cell twice (`measure.twins: true`), once as the machine is and, with `--load N`,
  again with N CPU-bound processes started when the second timed round begins (read from the
  sweep's own progress line). Checks: quiet, every twin pair agrees within 5 % and every FPS is
  comparable; loaded, either the twins agree within 10 % and the cross-method ratios within
  20 % of the quiet run's, or every figure that does not says "not comparable" and no ratio is
  printed for it; in both, no printed ratio comes from fewer than two rounds. It also sets the
  cross-method ratios of CPU-time FPS (frames per process CPU second, times the threads) beside
  those of wall FPS, quiet against loaded. `--cell-budget-s` and `--max-rounds` give the
  cells more time to reach the precision target than the default run's (5 s, 6 rounds: what
  keeps the README's run within five minutes), `--precision` a tighter target than its 3 %;
  the JSON names what was given.
- `default`: the README's default run as it is (its command, `run_bench.py run --run-dir DIR`,
  on the embedded default), its wall time against five minutes.
- `untimed`: the default run's untimed work alone (`measure.fps: false`: the accuracy pass,
  warm-up and scoring), once as the machine is and once with N CPU-bound processes running
  throughout; checks that the loaded run takes at most 3 times the quiet one. `--wait-policy
  default` runs it as vis-bench did before the workers waited passively (OMP_WAIT_POLICY unset),
  for contrast.

`--videos`, `--methods` and `--clip-lengths` reduce the run (for checking the benchmark itself;
a reduced run is said so in the JSON, and its checks are not the issue's). The JSON holds each
run's figures, its wall time, the machine's load average before and after and as each record
saw it, each check's verdict, and the provenance (commit, machine, command).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.records import CellRecord
from vis_bench.report.record_set import RecordSet
from vis_bench.report.speed_trust import paired_ratio, speed_of
from vis_bench.report.twins import agreement, twin_pairs

REPO = Path(__file__).resolve().parents[1]
BUSY = "while True:\n    sum(i * i for i in range(10000))\n"
QUIET_TWINS, LOADED_TWINS, RATIOS, UNTIMED = 0.05, 0.10, 0.20, 3.0
#: the phases of a run that are not its timed rounds (sweep/phase_clock.py)
UNTIMED_PHASES = ("worker_start", "model_build", "warmup", "inference", "scoring", "bootstrap")


def _config(args: argparse.Namespace, **measure: Any) -> dict[str, Any]:
    config = yaml.safe_load((REPO / "configs" / "default.yaml").read_text())
    if args.methods:
        config["methods"] = [m for m in config["methods"] if m["name"] in args.methods.split(",")]
    if args.videos:
        config["dataset"]["videos"] = args.videos
    if args.clip_lengths:
        lengths = [v if v == "all" else int(v) for v in args.clip_lengths.split(",")]
        config["sweep"]["clip_length"] = lengths
    config["measure"].update(measure)
    for method in config["methods"]:  # a config's paths are read from its own folder
        if method.get("checkpoint"):
            method["checkpoint"] = str((REPO / method["checkpoint"]).resolve())
    return config


def _loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def _run(
    config: dict[str, Any] | None,
    run_dir: Path,
    load: int,
    trigger: str | None,
    env: dict[str, str],
) -> dict[str, Any]:
    """One `run` command on `config` (None: the README's command, on the embedded default);
    with `load`, that many busy processes, started when `trigger` appears in its output (None:
    at once), stopped when it ends."""
    command = [sys.executable, "run_bench.py", "run"]
    shutil.rmtree(run_dir, ignore_errors=True)  # a sweep resumes: an old folder would not be timed
    if config is not None:
        path = run_dir.with_suffix(".yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        command += ["--config", str(path)]
    command += ["--run-dir", str(run_dir)]
    before, began = _loadavg(), time.perf_counter()
    busy: list[subprocess.Popen] = []
    started_at = None

    def start_load() -> None:
        nonlocal busy, started_at
        busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(load)]
        started_at = round(time.perf_counter() - began, 1)

    if load and trigger is None:
        start_load()
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seen, tail = "", ""
    assert process.stdout is not None
    while chunk := process.stdout.read(256):
        seen = (seen + chunk)[-8192:]
        tail = (tail + chunk)[-4000:]
        if load and not busy and trigger is not None and trigger in seen:
            start_load()
    code = process.wait()
    wall = time.perf_counter() - began
    for worker in busy:
        worker.kill()
        worker.wait()
    if code not in (0,):
        raise SystemExit(f"{' '.join(command)} exited with {code}:\n{tail}")
    timings = json.loads((run_dir / "run.json").read_text()).get("last_run_timings") or {}
    return {
        "run_dir": str(run_dir),
        "wall_s": round(wall, 1),
        "load_processes": len(busy),
        "load_started_s": started_at,
        "loadavg_before": before,
        "loadavg_after": _loadavg(),
        "phases_s": timings.get("phases_s"),
        "console_tail": tail.strip().splitlines()[-4:],
    }


def _cell(record: CellRecord) -> dict[str, Any]:
    speed = speed_of(record)
    return {
        "cell": f"{record.shown_method} T={record.clip_length}",
        "fps": record.speed.fps_end_to_end,
        "fps_ci": speed.fps_ci,
        "precision": speed.fps_precision,
        "rounds_timed": speed.rounds_timed,
        "rounds_counted": speed.rounds_counted,
        "comparable": speed.comparable,
        "not_comparable": speed.not_comparable,
        "fps_cpu_time": speed.fps_cpu_time,
        "loaded": record.speed.loaded,
        "load1_max": record.speed.load.load1_max if record.speed.load is not None else None,
        "omp_wait_policy": record.environment.omp_wait_policy if record.environment else None,
    }


def _setting(record: CellRecord) -> tuple:
    return (record.clip_length, record.stride, record.twin)


def _cross(records: list[CellRecord]) -> dict[str, dict[str, Any]]:
    """Each cell against the first method's cell of its setting (twin 1 against twin 1): the
    paired wall-FPS ratio (or why none), the common counted rounds, and the CPU-time ratio."""
    first: dict[tuple, CellRecord] = {}
    for record in records:
        first.setdefault(_setting(record), record)
    out = {}
    for record in records:
        base = first[_setting(record)]
        if base is record:
            continue
        ratio = paired_ratio(record, base)
        cpu_a, cpu_b = speed_of(record).fps_cpu_time, speed_of(base).fps_cpu_time
        common = _common_counted(record, base)
        out[f"{record.shown_method} / {base.shown_method} T={record.clip_length}"] = {
            "cells": [_cell(record)["cell"], _cell(base)["cell"]],
            "wall": ratio.value,
            "wall_text": ratio.text(3),
            "common_counted_rounds": common,
            "cpu_time": cpu_a / cpu_b if cpu_a and cpu_b else None,
        }
    return out


def _common_counted(a: CellRecord, b: CellRecord) -> int:
    def counted(r: CellRecord) -> set[int]:
        return {int(x.round or 0) for x in speed_of(r).rounds if x.counted}

    return len(counted(a) & counted(b))


def _twins(records: list[CellRecord]) -> dict[str, float | None]:
    return {
        f"{one.shown_method.removesuffix(' twin 1')} T={one.clip_length}": agreement(one, two)
        for one, two in twin_pairs(records)
    }


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    records = [r for r in RecordSet.read([run["run_dir"]]).records if r.ok]
    return {
        **run,
        "cells": [_cell(r) for r in records],
        "twins_difference": _twins(records),
        "cross_method": _cross(records),
        "leaderboard_verdict": _leaderboard_verdict(Path(run["run_dir"])),
        "machine_jitter": _jitter(Path(run["run_dir"])),
    }


def _jitter(run_dir: Path) -> dict[str, float | int | None]:
    """How still the machine held in this run, from the records' own readings: the reference
    workload's readings (two per round: their median, coefficient of variation and 10th
    percentile over the median) and, per cell, the coefficient of variation of its rounds' FPS
    (the median over cells). A load average says whether other work ran; these say how much the
    machine's speed moved from one second to the next, which is what sets the rounds a figure
    needs."""
    readings, cell_cvs = [], []
    for line in (run_dir / "records.jsonl").read_text().splitlines():
        rounds = (json.loads(line).get("speed") or {}).get("rounds") or []
        for entry in rounds:
            for side in ("reference_before", "reference_after"):
                if (entry.get(side) or {}).get("gflops"):
                    readings.append(float(entry[side]["gflops"]))
        fps = [float(entry["fps"]) for entry in rounds if entry.get("fps")]
        if len(fps) > 1:
            cell_cvs.append(statistics.pstdev(fps) / statistics.fmean(fps))
    if len(readings) < 2:
        return {"readings": len(readings)}
    median = statistics.median(readings)
    return {
        "readings": len(readings),
        "reference_gflops_median": median,
        "reference_cv": statistics.pstdev(readings) / statistics.fmean(readings),
        "reference_p10_over_median": statistics.quantiles(readings, n=10)[0] / median,
        "round_fps_cv_median": statistics.median(cell_cvs) if cell_cvs else None,
    }


def _leaderboard_verdict(run_dir: Path) -> str | None:
    text = (run_dir / "leaderboard.md").read_text()
    return next((line for line in text.splitlines() if "not comparable (loaded) for" in line), None)


def _no_single_round_ratio(summary: dict[str, Any]) -> bool:
    return all(
        c["wall"] is None or c["common_counted_rounds"] >= 2
        for c in summary["cross_method"].values()
    )


def _aa(args: argparse.Namespace, env: dict[str, str]) -> tuple[dict, dict]:
    config = _config(args, twins=True, **_budget(args))
    runs = {"quiet": _summary(_run(config, args.work / "aa_quiet", 0, None, env))}
    quiet = runs["quiet"]
    checks = {
        "quiet: every twin pair within 5 %": all(
            d is not None and d <= QUIET_TWINS for d in quiet["twins_difference"].values()
        ),
        "quiet: every FPS comparable": all(c["comparable"] for c in quiet["cells"]),
        "quiet: no ratio from fewer than two rounds": _no_single_round_ratio(quiet),
    }
    if args.load:
        trigger = f"timing round {config['measure'].get('rounds', 3) // 2 + 1}/"
        loaded = _summary(_run(config, args.work / "aa_loaded", args.load, trigger, env))
        runs["loaded"] = loaded
        checks.update(_loaded_checks(quiet, loaded))
    return runs, checks


def _budget(args: argparse.Namespace) -> dict[str, Any]:
    """The measure settings given beyond the default config's (none: the default run's)."""
    given = {
        "cell_budget_s": args.cell_budget_s,
        "max_rounds": args.max_rounds,
        "precision": args.precision,
    }
    return {key: value for key, value in given.items() if value is not None}


def _loaded_checks(quiet: dict[str, Any], loaded: dict[str, Any]) -> dict[str, bool]:
    """Either the loaded run agrees with the quiet one, or what does not says so."""
    cells = {c["cell"]: c for c in loaded["cells"]}
    twins_ok = all(d is not None and d <= LOADED_TWINS for d in loaded["twins_difference"].values())
    ratios = {
        pair: (entry["wall"], quiet["cross_method"].get(pair, {}).get("wall"))
        for pair, entry in loaded["cross_method"].items()
    }
    moved = {p: a / b - 1 for p, (a, b) in ratios.items() if a is not None and b is not None}
    agree = twins_ok and all(abs(v) <= RATIOS for v in moved.values()) and len(moved) == len(ratios)
    refused = [c for c in cells.values() if not c["comparable"]]
    said_so = all(
        entry["wall"] is None
        for entry in loaded["cross_method"].values()
        if any(not cells[name]["comparable"] for name in entry["cells"])
    ) and (not refused or loaded["leaderboard_verdict"] is not None)
    cpu = {
        pair: (entry["cpu_time"], quiet["cross_method"].get(pair, {}).get("cpu_time"))
        for pair, entry in loaded["cross_method"].items()
    }
    loaded["cpu_time_ratio_moved"] = {
        p: a / b - 1 for p, (a, b) in cpu.items() if a is not None and b is not None
    }
    loaded["wall_ratio_moved"] = moved
    return {
        "loaded: agrees with quiet (twins 10 %, ratios 20 %) or says not comparable": agree
        or said_so,
        "loaded: every ratio against a not-comparable cell withheld": said_so,
        "loaded: no ratio from fewer than two rounds": _no_single_round_ratio(loaded),
    }


def _default(args: argparse.Namespace, env: dict[str, str]) -> tuple[dict, dict]:
    reduced = bool(args.methods or args.videos or args.clip_lengths)
    run_dir = args.run_dir or args.work / "default"
    run = _summary(_run(_config(args) if reduced else None, run_dir, 0, None, env))
    return {"default": run}, {"default run within 5 minutes": run["wall_s"] <= 300}


def _untimed(args: argparse.Namespace, env: dict[str, str]) -> tuple[dict, dict]:
    extra = {"fps": False}
    if args.wait_policy == "default":
        extra["omp_wait_policy"] = None
    config = _config(args, **extra)
    runs = {
        "quiet": _run(config, args.work / "untimed_quiet", 0, None, env),
        "loaded": _run(config, args.work / "untimed_loaded", args.load, None, env),
    }
    for run in runs.values():
        phases = run["phases_s"] or {}
        run["untimed_s"] = round(sum(phases.get(p, 0.0) for p in UNTIMED_PHASES), 1)
    ratio = runs["loaded"]["untimed_s"] / runs["quiet"]["untimed_s"]
    runs["loaded_over_quiet"] = round(ratio, 2)
    return runs, {f"untimed work loaded at most {UNTIMED:g}x quiet": ratio <= UNTIMED}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["aa", "default", "untimed"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/vis_bench_fps_precision"))
    parser.add_argument("--load", type=int, default=2, help="CPU-bound processes (0: none)")
    parser.add_argument("--wait-policy", choices=["passive", "default"], default="passive")
    parser.add_argument("--methods", default="", help="comma-separated subset (reduced run)")
    parser.add_argument("--videos", type=int, default=0, help="fewer videos (reduced run)")
    parser.add_argument("--clip-lengths", default="", help="e.g. all (reduced run)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--cell-budget-s", type=float, default=None, help="aa: measure.cell_budget_s"
    )
    parser.add_argument("--max-rounds", type=int, default=None, help="aa: measure.max_rounds")
    parser.add_argument("--precision", type=float, default=None, help="aa: measure.precision")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="the run's folder, emptied first (default: WORK/default)",
    )
    args = parser.parse_args()
    provenance = start_provenance()
    env = dict(os.environ)
    if args.wait_policy == "default":
        env.pop("OMP_WAIT_POLICY", None)
    modes = {"aa": _aa, "default": _default, "untimed": _untimed}
    runs, checks = modes[args.mode](args, env)
    reduced = bool(args.methods or args.videos or args.clip_lengths)
    report = {
        "mode": args.mode,
        "reduced": reduced,
        "wait_policy": args.wait_policy,
        "environment_omp_wait_policy": env.get("OMP_WAIT_POLICY"),
        "measure_given": _budget(args) if args.mode == "aa" else {},
        "runs": runs,
        "checks": checks,
    }
    print(json.dumps({"checks": checks, "reduced": reduced}, indent=2))
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=1)
    if not all(checks.values()):
        raise SystemExit(f"failed: {[name for name, ok in checks.items() if not ok]}")


if __name__ == "__main__":
    main()
