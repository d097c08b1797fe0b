"""Cost of the per-cell bootstrap intervals of a sweep, against scoring the cell without them.

    python benchmarks/bench_cell_bootstrap.py RUN_DIR [--replicates 1000] [--repeat 3] [--json OUT]

For every scored cell of a run folder (e.g. `results/runs/default` after `python run_bench.py`),
re-scores its results.json the way the sweep does (`sweep.scoring.Scorer`, ground truth parsed
once) with `measure.bootstrap: 0` and with B replicates, interleaved per repeat in one process,
and times the reports of the run's records (their `RecordSet` built, then `write_reports`).
Prints seconds per cell (median of the repeats), the totals, the sizes of the per-cell files and
of a record line, and the run's own wall time spent in its cells for scale (from the records'
start and finish times).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.records import CellRecord
from vis_bench.records.store import read_records
from vis_bench.report.outputs import write_reports
from vis_bench.report.record_set import RecordSet
from vis_bench.sweep.scoring import REPLICATES_FILE, VIDEO_MATCHES_FILE, Scorer


def _gt_path(run_dir: Path) -> Path:
    """The ground truth of a run folder's dataset, as the sweep opened it."""
    from vis_bench.config import load_config
    from vis_bench.inference.sources import open_source

    stored = json.loads((run_dir / "run.json").read_text())
    for config_file in sorted((run_dir / "configs").glob("*.yaml")):
        config = load_config(config_file)
        source = open_source(config.dataset, str(config_file))
        if source.dataset_id == stored["dataset_id"] and source.gt_path is not None:
            return source.gt_path
    raise SystemExit(f"{run_dir}: no saved config opens its dataset with ground truth")


def _cell_seconds(records: list[CellRecord]) -> float:
    stamps = [
        (datetime.fromisoformat(str(r.started)), datetime.fromisoformat(str(r.finished)))
        for r in records
    ]
    return sum((end - start).total_seconds() for start, end in stamps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    records = RecordSet.from_records(read_records(args.run_dir), args.run_dir).ok
    gt = _gt_path(args.run_dir)
    plain, boot = Scorer(gt, 0), Scorer(gt, args.replicates, 0)
    plain.score(Path(str(records[0].results_path)))  # parse the GT once, as a sweep does
    boot.score(Path(str(records[0].results_path)))
    provenance = start_provenance()
    cells = []
    for record in records:
        results = Path(str(record.results_path))
        times: dict[str, list[float]] = {"score": [], "score_with_bootstrap": []}
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "results.json"
            copy.write_bytes(results.read_bytes())
            for _ in range(args.repeat):
                for name, scorer in (("score", plain), ("score_with_bootstrap", boot)):
                    start = time.perf_counter()
                    scorer.score(copy)
                    times[name].append(time.perf_counter() - start)
            sizes = {
                "video_matches_bytes": (Path(tmp) / VIDEO_MATCHES_FILE).stat().st_size,
                "replicates_bytes": (Path(tmp) / REPLICATES_FILE).stat().st_size,
            }
        cell = {
            "cell": f"{record.method} T={record.clip_length}",
            "results": record.num_predictions,
            **{k: statistics.median(v) for k, v in times.items()},
            **sizes,
            "record_line_bytes": len(json.dumps(record, sort_keys=True, default=str)) + 1,
        }
        cells.append(cell)
        print(
            f"{cell['cell']:<18} {cell['results']!s:>5} results  score {cell['score']:.3f} s  "
            f"with B={args.replicates} {cell['score_with_bootstrap']:.3f} s  matching "
            f"{sizes['video_matches_bytes'] / 1e3:.1f} KB  replicates "
            f"{sizes['replicates_bytes'] / 1e3:.1f} KB  record {cell['record_line_bytes']} B"
        )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        # the reports' whole work: the record set (its cells' files read) and every output
        write_reports(RecordSet.from_records(records, args.run_dir), tmp, "bench")
        reports = time.perf_counter() - start
    extra = sum(c["score_with_bootstrap"] - c["score"] for c in cells)
    summary = {
        "run_dir": str(args.run_dir),
        "replicates": args.replicates,
        "repeat": args.repeat,
        "cells": cells,
        "bootstrap_seconds_total": extra,
        "score_seconds_total": sum(c["score"] for c in cells),
        "reports_seconds": reports,
        "run_cell_seconds": _cell_seconds(records),
    }
    print(
        f"bootstrap over {len(cells)} cells: {extra:.2f} s in all (scoring alone "
        f"{summary['score_seconds_total']:.2f} s); reports {reports:.2f} s; the run's cells "
        f"took {summary['run_cell_seconds']:.0f} s"
    )
    if args.json is not None:
        write_json_with_provenance(args.json, summary, provenance)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
