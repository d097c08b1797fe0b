"""FPS on a shared machine: the same sweep timed quiet and with load started halfway through.

    python benchmarks/bench_fps_trust.py [--work DIR] [--rounds 6] [--load 2]
        [--json benchmarks/results/fps_trust.json]

Runs one `run_bench.py run` command twice on three of the project's tiny models (SeqFormer,
MinVIS, IFC; offline, 144 px, the synthetic split): once as the machine is, once with `--load`
CPU-bound processes started when the sweep's timed rounds are halfway through (read from the
sweep's own progress line, not from the clock). It then checks what issue-level claims the harness
makes about its FPS:

- the cross-method FPS ratios of each run (paired over the rounds, tables.md's paired table)
  agree between the two runs within 20 %, the load notwithstanding;
- `compare-runs QUIET LOADED` gives, per cell, a ratio at equal machine speed within 20 % of 1.0,
  or says "not comparable" with both machines' reference speeds;
- the loaded run is marked in tables.md, leaderboard.md, cells.csv, the CSV, JSON and LaTeX
  leaderboards and the HTML report;
- in both runs no round's model stage exceeds its end-to-end time, and every round's
  predictions were the accuracy pass's.

It also gives, for contrast, what timing the cells one after another would have said: each
cell's FPS in the loaded run over its FPS in the quiet run, raw. The JSON carries the figures,
each check's verdict and the provenance (commit, machine, load before and after).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.records import CellRecord
from vis_bench.report.record_set import RecordSet
from vis_bench.report.speed_trust import paired_ratio

REPO = Path(__file__).resolve().parents[1]
METHODS = ("seqformer", "minvis", "ifc")
TOLERANCE = 0.2
BUSY = "import time\nwhile True:\n    sum(i * i for i in range(10000))\n"


def _config(rounds: int, round_seconds: float) -> dict[str, Any]:
    return {
        "name": "fps-trust",
        "dataset": {
            "kind": "synthetic",
            "videos": 8,
            "seed": 0,
            "min_frames": 8,
            "max_frames": 20,
            "enter_leave": 0.25,
        },  # fmt: skip
        "methods": [
            {
                "name": name,
                "checkpoint": f"results/checkpoints/{name.replace('-', '_')}_tiny.pth",
                "label_space": "synthetic",
            }
            for name in METHODS
        ],
        "sweep": {"clip_length": ["all"], "resolution": [144]},
        "measure": {"bootstrap": 0, "rounds": rounds, "round_seconds": round_seconds},
    }


def _sweep(config: Path, run_dir: Path, load: int, rounds: int) -> dict[str, Any]:
    """One `run` command; with `load`, that many busy processes start when round
    rounds // 2 + 1 begins and stop when the command ends."""
    command = [sys.executable, "run_bench.py", "run", "--config", str(config)]
    command += ["--run-dir", str(run_dir)]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    trigger = f"timing round {rounds // 2 + 1}/{rounds}"
    busy: list[subprocess.Popen] = []
    started_at, seen = None, ""
    assert process.stdout is not None
    while True:
        chunk = process.stdout.read(256)
        if not chunk:
            break
        seen = (seen + chunk)[-4096:]
        if load and not busy and trigger in seen:
            busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(load)]
            started_at = time.time()
    code = process.wait()
    for worker in busy:
        worker.kill()
        worker.wait()
    if code != 0:
        raise SystemExit(f"{' '.join(command)} exited with {code}:\n{seen}")
    return {"load_processes": len(busy), "load_started": started_at}


def _paired(records: list[CellRecord]) -> dict[str, float | None]:
    by_method = {r.method: r for r in records}
    pairs = {}
    for name in METHODS[1:]:
        ratio = paired_ratio(by_method[name], by_method[METHODS[0]])
        pairs[f"{name}/{METHODS[0]}"] = ratio.value
    return pairs


def _marked_everywhere(run_dir: Path) -> dict[str, bool]:
    """Whether each output of the loaded run carries a mark and its note."""

    def export(fmt: str) -> str:
        command = [sys.executable, "run_bench.py", "leaderboard", str(run_dir), "--format", fmt]
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True).stdout

    marks = ("measured while the machine was loaded", "after an FPS: noisy")
    cells = (run_dir / "cells.csv").read_text().splitlines()
    header = cells[0].split(",")
    flagged = any(
        row.split(",")[header.index("fps_loaded")] == "True"
        or row.split(",")[header.index("fps_noisy")] == "True"
        for row in cells[1:]
    )
    return {
        "tables.md": any(m in (run_dir / "tables.md").read_text() for m in marks),
        "leaderboard.md": any(m in (run_dir / "leaderboard.md").read_text() for m in marks),
        "cells.csv": flagged,
        "leaderboard csv": "True" in export("csv"),
        "leaderboard json": any(m in export("json") for m in marks),
        "leaderboard latex": "footnotesize" in export("latex"),
        "report.html": any(m in (run_dir / "report.html").read_text() for m in marks),
    }


def _consistent(records: list[CellRecord]) -> bool:
    """No round's model stage above its end-to-end time; every round's predictions checked."""
    for record in records:
        rounds = record.speed.rounds
        checked = (rounds.predictions_checked if rounds is not None else None) or {}
        if not checked.get("equal_to_accuracy_pass"):
            return False
        timed = rounds.rounds if rounds is not None else ()
        if any((r.stages or {}).get("model", 0.0) > (r.seconds or 0.0) for r in timed):
            return False
    return True


def _compare(quiet: Path, loaded: Path) -> list[str]:
    command = [sys.executable, "run_bench.py", "compare-runs", str(quiet), str(loaded)]
    text = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    rows = [line for line in text.splitlines() if line.startswith("| ") and " T=" in line]
    return [row.rstrip(" |").rsplit("|", 1)[-1].strip() for row in rows]


def _ratio_ok(text: str) -> bool:
    if text.startswith("not comparable"):
        return True
    return abs(float(text.rstrip("x")) - 1.0) <= TOLERANCE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/vis_bench_fps_trust"))
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--round-seconds", type=float, default=0.5)
    parser.add_argument("--load", type=int, default=2, help="busy processes in the loaded run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    provenance = start_provenance()
    args.work.mkdir(parents=True, exist_ok=True)
    config = args.work / "fps_trust.yaml"
    config.write_text(yaml.safe_dump(_config(args.rounds, args.round_seconds), sort_keys=False))
    runs = {"quiet": args.work / "quiet", "loaded": args.work / "loaded"}
    started = {
        "quiet": _sweep(config, runs["quiet"], 0, args.rounds),
        "loaded": _sweep(config, runs["loaded"], args.load, args.rounds),
    }
    records = {name: RecordSet.read([path]).records for name, path in runs.items()}
    paired = {name: _paired(recs) for name, recs in records.items()}
    # a pair whose loaded run says "not comparable" (no ratio) is no disagreement
    agreement = {
        pair: paired["loaded"][pair] / paired["quiet"][pair]
        for pair in paired["quiet"]
        if paired["loaded"][pair] is not None and paired["quiet"][pair] is not None
    }
    raw = {
        r.method: r.speed.fps_end_to_end / q.speed.fps_end_to_end
        for r, q in zip(records["loaded"], records["quiet"], strict=True)
    }
    compared = _compare(runs["quiet"], runs["loaded"])
    marked = _marked_everywhere(runs["loaded"])
    checks = {
        "paired ratios agree within 20 % or not comparable": all(
            abs(v - 1) <= TOLERANCE for v in agreement.values()
        ),
        "compare-runs normalised within 20 % or not comparable": all(map(_ratio_ok, compared)),
        "loaded run marked in every output": all(marked.values()),
        "model never above end to end; predictions checked": all(
            _consistent(recs) for recs in records.values()
        ),
    }
    report = {
        "runs": {name: str(path) for name, path in runs.items()},
        "load": started,
        "paired_fps_ratios": paired,
        "loaded_over_quiet_paired": agreement,
        "loaded_over_quiet_raw": raw,
        "compare_runs_fps": compared,
        "marked": marked,
        "noisy_cells_loaded_run": [r.method for r in records["loaded"] if r.speed.noisy],
        "checks": checks,
    }
    print(json.dumps(report, indent=2))
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)
    if not all(checks.values()):
        raise SystemExit(f"failed: {[name for name, ok in checks.items() if not ok]}")


if __name__ == "__main__":
    main()
