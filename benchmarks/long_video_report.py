"""Table and plot of a long-video memory run (configs/long_video_memory.yaml).

    python benchmarks/long_video_report.py RUN_DIR [RUN_DIR ...] --out OUT_DIR [--repeats]

Reads each RUN_DIR/records.jsonl (the latest record of each cell). Run folders of the same
config are repeated runs (`--repeats`: each folder is one run, its records get a `repeat` index);
folders of different configs add cells. Writes OUT_DIR/records.jsonl (a copy of those records,
each with its own provenance), OUT_DIR/memory.md (the code states of the records, the machine,
the table of the median run of each cell, the spread of the runs and peak-memory growth with
length judged against that spread), OUT_DIR/memory_vs_frames.png and OUT_DIR/provenance.json
(this report's own provenance block and the records' code states). Numbers come only from the
records.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vis_bench.atomic import write_atomic
from vis_bench.measure.provenance import (
    commit_label,
    source_states,
    start_provenance,
    write_json_with_provenance,
)
from vis_bench.records import CellRecord
from vis_bench.records.store import latest_records, read_records
from vis_bench.report.memory_plot import memory_table, plot_memory_vs_frames
from vis_bench.report.memory_repeats import growth_lines, median_records, spread_table
from vis_bench.report.record_set import RecordSet


def machine(records: list[dict[str, Any]]) -> str:
    """The environment the records name (CPU, threads, torch), once per distinct machine."""
    seen = []
    for record in records:
        env = record.get("environment") or {}
        text = (
            f"{env.get('cpu', '?')}, {env.get('threads', '?')} threads, "
            f"torch {env.get('torch', '?')}, Python {env.get('python', '?')}"
        )
        if text not in seen:
            seen.append(text)
    return "; ".join(seen) or "unknown"


def load_line(records: list[dict[str, Any]]) -> str:
    """The machine's 1-minute load average at the start and end of the cells' timed parts."""
    loads = [
        value
        for r in records
        for value in (
            (r.get("load") or {}).get("load1_start"),
            (r.get("load") or {}).get("load1_end"),
        )
        if value is not None
    ]
    if not loads:
        return "Load average while timed: not recorded."
    return (
        f"Load average (1 min) at the start and end of the timed parts: {min(loads):.1f} to "
        f"{max(loads):.1f} on {_threads(records)} cores (other work shared the machine)."
    )


def _threads(records: list[dict[str, Any]]) -> str:
    counts = {str((r.get("environment") or {}).get("cpu_count", "?")) for r in records}
    return "/".join(sorted(counts))


def code_line(states: list[str], provenance: dict[str, Any]) -> str:
    """The records' distinct code states (`source_states` of their provenance), and this
    report's."""
    return (
        f"Code of the records (their provenance): {', '.join(states) or 'no records'}. This "
        f"report: `{provenance['command']}` at commit "
        f"{commit_label(provenance) or 'unknown (not a git checkout)'}."
    )


def _portable(record: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The record with its results path relative to its run folder (the copy travels alone;
    a relative path in a record is taken from the working directory the run had, the checkout)."""
    path = record.get("results_path")
    if path and Path(path).resolve().is_relative_to(run_dir.resolve()):
        relative = Path(path).resolve().relative_to(run_dir.resolve())
        record = {**record, "results_path": str(relative)}
    return record


def _latest(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest line of each cell, as written."""
    return [r.to_json() for r in latest_records(map(CellRecord.from_json, lines))]


def _gather(run_dirs: list[Path], repeats: bool) -> list[dict[str, Any]]:
    """The latest record of each cell of each folder; with `repeats` each folder's records
    carry its index as `repeat`, else one record per cell over all folders."""
    if not repeats:
        return _latest([_portable(r, run) for run in run_dirs for r in read_records(run)])
    return [
        {**_portable(r, run), "repeat": index}
        for index, run in enumerate(run_dirs)
        for r in _latest(read_records(run))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dirs", type=Path, nargs="+")
    parser.add_argument("--out", dest="out_dir", type=Path, required=True)
    parser.add_argument("--title", default="Memory and time against video length")
    parser.add_argument(
        "--repeats", action="store_true", help="the run folders are repeated runs of one config"
    )
    args = parser.parse_args()
    provenance = start_provenance()
    records = _gather(args.run_dirs, args.repeats)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out_dir / "records.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    states = source_states([r.get("provenance") for r in records])
    typed = [CellRecord.from_json(r) for r in records]
    median = RecordSet.from_records(median_records(typed))
    plot = plot_memory_vs_frames(median, args.out_dir / "memory_vs_frames.png")
    parts = [
        f"# {args.title}",
        "",
        code_line(states, provenance),
        "",
        f"Machine: {machine(records)}. {load_line(records)}",
        "",
        "The median run of each cell:",
        "",
        memory_table(median),
        "",
        "Peak RSS over the runs:",
        "",
        spread_table(typed),
        "",
    ]
    growth = growth_lines(typed)
    if growth:
        parts += ["Peak memory growth with video length:", "", *growth, ""]
    if plot is not None:
        parts += [f"![peak memory vs frames]({plot.name})", ""]
    write_atomic(args.out_dir / "memory.md", "\n".join(parts))
    sources = {
        "run_dirs": [str(run) for run in args.run_dirs],
        "records": len(records),
        "source_states": states,
    }
    write_json_with_provenance(args.out_dir / "provenance.json", sources, provenance)
    print(f"wrote {args.out_dir / 'memory.md'} and {args.out_dir / 'provenance.json'}")


if __name__ == "__main__":
    main()
