"""Table and plot of a long-video memory run (configs/long_video_memory.yaml).

    python benchmarks/long_video_report.py RUN_DIR OUT_DIR [--title TEXT]

Reads RUN_DIR/records.jsonl (the latest record of each cell) and writes OUT_DIR/records.jsonl
(a copy of those records), OUT_DIR/memory.md (the table, the machine, the targets) and
OUT_DIR/memory_vs_frames.png. Numbers come only from the records.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vis_bench.atomic import write_atomic
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--title", default="Memory and time against video length")
    args = parser.parse_args()
    records = latest_records(read_records(args.run_dir))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out_dir / "records.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    plot = plot_memory_vs_frames(records, args.out_dir / "memory_vs_frames.png")
    parts = [
        f"# {args.title}",
        "",
        f"Machine: {machine(records)}.",
        "",
        memory_table(records),
        "",
        "Peak memory growth with video length:",
        "",
        *growth_lines(records),
        "",
    ]
    if plot is not None:
        parts += [f"![peak memory vs frames]({plot.name})", ""]
    write_atomic(args.out_dir / "memory.md", "\n".join(parts))
    print(f"wrote {args.out_dir / 'memory.md'}")


if __name__ == "__main__":
    main()
