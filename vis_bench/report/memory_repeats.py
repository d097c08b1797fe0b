"""Peak memory over repeated runs of a long-video sweep: median, spread, and growth with length.

One run's peak RSS moves between neighbouring lengths by more than a small growth claim, so a
claim that memory "grows by x %" means something only beside the spread of repeated runs of the
same cell. Records of several runs of one config carry a `repeat` index (the report that
gathers them sets it); a cell's runs are grouped by method, schedule and frames per video.
"""

from __future__ import annotations

import statistics

from vis_bench.records import CellRecord
from vis_bench.report.memory_plot import frames_per_video, schedule_label

CellId = tuple[str, str, float]


def _cell(record: CellRecord) -> CellId | None:
    frames = frames_per_video(record)
    if frames is None:
        return None
    return str(record.method), schedule_label(record), frames


def repeat_groups(records: list[CellRecord]) -> dict[CellId, list[CellRecord]]:
    """The finished runs of each cell that measured peak RSS."""
    groups: dict[CellId, list[CellRecord]] = {}
    for record in records:
        cell = _cell(record)
        if cell and record.ok and record.memory.peak_rss_mb is not None:
            groups.setdefault(cell, []).append(record)
    return groups


def median_records(records: list[CellRecord]) -> list[CellRecord]:
    """One record per cell: the run whose peak RSS is the (lower) median, so every column of
    a row comes from one real run; a cell that never finished keeps its failed record."""
    groups = repeat_groups(records)
    chosen = []
    for runs in groups.values():
        ordered = sorted(runs, key=_peak)
        chosen.append(ordered[(len(ordered) - 1) // 2])
    failed = {_cell(r): r for r in records if not r.ok and _cell(r)}
    chosen += [r for cell, r in failed.items() if cell not in groups]
    return chosen


def _peak(record: CellRecord) -> float:
    """The peak RSS of a run that measured it (MiB)."""
    return float(record.memory.peak_rss_mb or 0.0)


def _spread(values: list[float]) -> float:
    """max - min as a percentage of the median."""
    return 100 * (max(values) - min(values)) / statistics.median(values)


def spread_table(records: list[CellRecord]) -> str:
    """Markdown: per cell, how many runs, and their peak RSS median, min, max and spread."""
    lines = [
        "| method | schedule | frames | runs | peak RSS median MiB | min | max | spread |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (method, schedule, frames), runs in sorted(repeat_groups(records).items()):
        values = [_peak(r) for r in runs]
        lines.append(
            f"| {method} | {schedule} | {frames:.0f} | {len(values)} | "
            f"{statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} | "
            f"{_spread(values):.1f} % |"
        )
    return "\n".join(lines)


def growth_lines(records: list[CellRecord]) -> list[str]:
    """Peak RSS growth from the shortest to the longest length of each schedule, as medians
    over the runs, with the range of the runs' own growths and the largest spread of runs at
    one length: a growth inside that spread is not shown by the data."""
    series: dict[tuple[str, str], dict[float, list[CellRecord]]] = {}
    for (method, schedule, frames), runs in repeat_groups(records).items():
        series.setdefault((method, schedule), {})[frames] = runs
    lines = []
    for (method, schedule), by_length in sorted(series.items()):
        if len(by_length) < 2:
            continue
        first, last = min(by_length), max(by_length)
        m0 = statistics.median(_peak(r) for r in by_length[first])
        m1 = statistics.median(_peak(r) for r in by_length[last])
        growth = 100 * (m1 - m0) / m0
        head = (
            f"- {method} {schedule}: median peak RSS {m0:.0f} MiB at {first:.0f} frames -> "
            f"{m1:.0f} MiB at {last:.0f} frames ({growth:+.1f} %)"
        )
        if min(len(runs) for runs in by_length.values()) < 2:
            lines.append(f"{head}; one run per cell: the spread is unknown, so this is no claim")
            continue
        spread = max(_spread([_peak(r) for r in runs]) for runs in by_length.values())
        verdict = "beyond" if abs(growth) > spread else "within"
        lines.append(
            f"{head}{_per_run(by_length, first, last)}; runs of one cell differ by up to "
            f"{spread:.1f} %: the growth is {verdict} the spread of repeated runs"
        )
    return lines


def _per_run(by_length: dict[float, list[CellRecord]], first: float, last: float) -> str:
    """The range of each run's own growth, pairing runs by their `repeat` index."""
    start = {r.repeat: _peak(r) for r in by_length[first]}
    end = {r.repeat: _peak(r) for r in by_length[last]}
    growths = [100 * (end[k] - start[k]) / start[k] for k in start if k in end and k is not None]
    if len(growths) < 2:
        return ""
    return f"; per run {min(growths):+.1f} to {max(growths):+.1f} %"
