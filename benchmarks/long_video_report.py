"""Table and plot of a long-video memory run (configs/long_video_memory.yaml).

    python benchmarks/long_video_report.py RUN_DIR [RUN_DIR ...] --out OUT_DIR [--title TEXT]

Reads each RUN_DIR/records.jsonl (the latest record of each cell) and writes OUT_DIR/records.jsonl
(a copy of those records, each with its own provenance), OUT_DIR/memory.md (the code states of
the records, the machine, the table, peak-memory growth with length), OUT_DIR/memory_vs_frames.png
and OUT_DIR/provenance.json (this report's own provenance block and the records' code states).
Numbers come only from the records.
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
from vis_bench.report.memory_plot import (
    frames_per_video,
    memory_table,
    plot_memory_vs_frames,
    schedule_label,
)
from vis_bench.report.records import latest_records, read_records


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


def growth_lines(records: list[dict[str, Any]]) -> list[str]:
    """Peak memory growth from the shortest to the longest length each schedule finished."""
    series: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in records:
        frames = frames_per_video(r)
        if r.get("status") == "ok" and r.get("peak_rss_mb") is not None and frames is not None:
            series.setdefault((r["method"], schedule_label(r)), []).append(
                (frames, r["peak_rss_mb"])
            )
    lines = []
    for (method, schedule), points in sorted(series.items()):
        if len(points) < 2:
            continue
        (f0, m0), (f1, m1) = min(points), max(points)
        lines.append(
            f"- {method} {schedule}: peak RSS {m0:.0f} MiB at {f0:g} frames -> {m1:.0f} MiB at "
            f"{f1:g} frames ({100 * (m1 - m0) / m0:+.1f} %)"
        )
    return lines


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dirs", type=Path, nargs="+")
    parser.add_argument("--out", dest="out_dir", type=Path, required=True)
    parser.add_argument("--title", default="Memory and time against video length")
    args = parser.parse_args()
    provenance = start_provenance()
    records = latest_records(
        [_portable(r, run) for run in args.run_dirs for r in read_records(run)]
    )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out_dir / "records.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    states = source_states([r.get("provenance") for r in records])
    plot = plot_memory_vs_frames(records, args.out_dir / "memory_vs_frames.png")
    parts = [
        f"# {args.title}",
        "",
        code_line(states, provenance),
        "",
        f"Machine: {machine(records)}. {load_line(records)}",
        "",
        memory_table(records),
        "",
    ]
    growth = growth_lines(records)
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
