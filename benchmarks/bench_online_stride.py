"""An online method's FPS against its clip stride: T=4 S=2 over T=4 S=4, paired round by round.

    python benchmarks/bench_online_stride.py [--config configs/online_stride.yaml]
        [--run-dir results/runs/online_stride] [--json benchmarks/results/online_stride.json]

A carried-state method (MinVIS, VidEoMT, DVIS++ online) is given each frame once whatever the
clip schedule: frames an earlier clip covered are not passed to the model again, their
predictions are kept. So the half-overlapping schedule T=4 S=2 should run at the speed of the
non-overlapping T=4 S=4 and predict the same. This runs the sweep of `--config` (the shipped tiny
models on the default run's data, both schedules timed in interleaved rounds; a run folder that
already holds its records is read, not run again) and, per method:

- the end-to-end FPS of T=4 S=2 over that of T=4 S=4, the median of the per-round ratios (the two
  cells timed one after the other in every round) with their range: at least 0.9 passes;
- whether the two cells' results.json hold the same predictions (scores and RLE masks), and
  their AP.

The JSON carries the figures, each method's verdict and the provenance (commit, machine, load).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.records import CellRecord
from vis_bench.report.record_set import RecordSet
from vis_bench.report.speed_trust import paired_ratio

REPO = Path(__file__).resolve().parents[1]
OVERLAPPING, DISJOINT = (4, 2), (4, 4)
#: the least FPS ratio T=4 S=2 / T=4 S=4 that says the stride does not cost an online method
FLOOR = 0.9


def _sweep(config: Path, run_dir: Path) -> None:
    """Run the sweep of `config` into `run_dir` (main skips it when the folder has records)."""
    command = [sys.executable, "run_bench.py", "run", "--config", str(config)]
    command += ["--run-dir", str(run_dir)]
    subprocess.run(command, cwd=REPO, check=True)


def _predictions(run_dir: Path, record: CellRecord) -> list[Any]:
    """The cell's predictions as a canonical list (order-independent)."""
    path = Path(str(record.results_path))
    if not path.is_absolute():
        path = run_dir / path if (run_dir / path).exists() else REPO / path
    predictions = json.loads(path.read_text())
    return sorted(predictions, key=lambda p: json.dumps(p, sort_keys=True))


def _schedule(record: CellRecord) -> tuple[int, int]:
    return int(record.clip_length), int(record.stride)


def _compare(run_dir: Path, records: list[CellRecord]) -> dict[str, Any]:
    """Per method: the paired FPS ratio, identical predictions, AP of both schedules."""
    by_method: dict[str, dict[tuple[int, int], CellRecord]] = {}
    for record in records:
        by_method.setdefault(str(record.method), {})[_schedule(record)] = record
    out: dict[str, Any] = {}
    for method, cells in by_method.items():
        overlapping, disjoint = cells.get(OVERLAPPING), cells.get(DISJOINT)
        if overlapping is None or disjoint is None:
            out[method] = {"error": "one of the two schedules has no record"}
            continue
        ratio = paired_ratio(overlapping, disjoint)
        same = _predictions(run_dir, overlapping) == _predictions(run_dir, disjoint)
        out[method] = {
            "fps_ratio_S2_over_S4": ratio.value,
            "fps_ratio_range": [ratio.low, ratio.high],
            "why_no_ratio": ratio.why_not or None,
            "fps_end_to_end": {
                "T4_S2": overlapping.speed.fps_end_to_end,
                "T4_S4": disjoint.speed.fps_end_to_end,
            },
            "marks": {
                "T4_S2": {"loaded": overlapping.speed.loaded, "noisy": overlapping.speed.noisy},
                "T4_S4": {"loaded": disjoint.speed.loaded, "noisy": disjoint.speed.noisy},
            },
            "AP": {"T4_S2": overlapping.metrics.get("AP"), "T4_S4": disjoint.metrics.get("AP")},
            "identical_predictions": same,
            "passes": bool(same and ratio.value is not None and ratio.value >= FLOOR),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "configs/online_stride.yaml")
    parser.add_argument("--run-dir", type=Path, default=REPO / "results/runs/online_stride")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    provenance = start_provenance()
    if not (args.run_dir / "records.jsonl").exists():
        _sweep(args.config, args.run_dir)
    records = list(RecordSet.read([args.run_dir]).records)
    methods = _compare(args.run_dir, records)
    report = {
        "what": (
            "end-to-end FPS of T=4 S=2 over T=4 S=4 per online method, the median of per-round "
            f"ratios over the sweep's interleaved timed rounds; passes at >= {FLOOR} with "
            "identical predictions"
        ),
        "config": str(args.config.relative_to(REPO) if args.config.is_absolute() else args.config),
        "methods": methods,
        "all_pass": all(m.get("passes") for m in methods.values()),
    }
    for method, figures in methods.items():
        ratio = figures.get("fps_ratio_S2_over_S4")
        print(
            f"{method}: S2/S4 {'-' if ratio is None else f'{ratio:.2f}x'} "
            f"identical={figures.get('identical_predictions')} passes={figures.get('passes')}"
        )
    if args.json:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()
