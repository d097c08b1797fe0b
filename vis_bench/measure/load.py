"""How busy the machine was while a cell was timed: load average and CPU steal.

An FPS figure taken while other work competes for the cores says more about the neighbours than
about the method, so each record keeps the load at the start and end of its timed part, and tables
flag FPS measured on a loaded machine: a 1-minute load average more than `OTHER_WORK_MARGIN`
above the number of threads the cell itself used. Its own threads account for that much load, and
on an otherwise idle machine the average sits a few hundredths above it (the sweep's own parent
process, the kernel), so a bare "above the threads" would mark every quiet run loaded; half a
core of other runnable work on average over the last minute is the least that is reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: load beyond the cell's own threads that marks it loaded: half a core's worth of other work
OTHER_WORK_MARGIN = 0.5


@dataclass(frozen=True)
class LoadReading:
    """One reading: load averages and the cumulative CPU jiffies (total, steal) of /proc/stat."""

    load1: float | None
    load5: float | None
    cpu_total: int | None = None
    cpu_steal: int | None = None


def read_load() -> LoadReading:
    """The machine's load now (None fields where the platform does not say)."""
    try:
        load1, load5, _ = os.getloadavg()
    except OSError:
        load1 = load5 = None
    total = steal = None
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        if fields[0] == "cpu":
            values = [int(v) for v in fields[1:]]
            total = sum(values[:8])  # user..steal; guest time is already in user
            steal = values[7] if len(values) > 7 else 0
    except (OSError, ValueError, IndexError):
        pass
    return LoadReading(load1, load5, total, steal)


def load_summary(start: LoadReading, end: LoadReading, threads: int) -> dict[str, object]:
    """What a record keeps: both readings, the steal share in between, and the verdict."""
    steal = None
    if None not in (start.cpu_total, end.cpu_total, start.cpu_steal, end.cpu_steal):
        elapsed = end.cpu_total - start.cpu_total
        steal = (end.cpu_steal - start.cpu_steal) / elapsed if elapsed > 0 else 0.0
    peak = max((r.load1 for r in (start, end) if r.load1 is not None), default=None)
    return {
        "load1_start": start.load1,
        "load1_end": end.load1,
        "cpu_steal_share": steal,
        "threads": threads,
        "loaded": bool(peak is not None and peak > threads + OTHER_WORK_MARGIN),
    }
