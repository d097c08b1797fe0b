"""Where a run's time goes: per cell (worker start-up, model build, warm-up, the accuracy pass,
single-clip timing, FLOPs, measurements, writing, the authors' timing protocol, scoring,
bootstrap, the timed rounds) and for the run (data, reports).

The worker times its own phases with a `PhaseClock`; the parent adds what only it sees (the
worker's start-up: its process, imports and job transfer, as the cell's wall time minus the
worker's own; scoring and the bootstrap). Each record keeps its cell's `timings`; `run` adds the
dataset's generation or loading and the reports, prints the sum by phase and stores it in the run
folder's run.json (`last_run_timings`), so "where did the 2 minutes go" has an answer on disk.
"""

from __future__ import annotations

import time
from typing import Any

#: the phases of a run, in the order they happen (cells' phases summed over the cells)
RUN_PHASES = (
    "data",
    "worker_start",
    "model_build",
    "warmup",
    "inference",
    "single_clip_timing",
    "flops",
    "measurements",
    "write",
    "protocol_timing",
    "scoring",
    "bootstrap",
    "timed_rounds",
    "reports",
)
LABELS = {
    "data": "data (generate or load)",
    "worker_start": "worker start-up",
    "model_build": "model build",
    "warmup": "warm-up",
    "inference": "accuracy pass",
    "single_clip_timing": "single-clip timing",
    "flops": "FLOPs count",
    "measurements": "memory, environment",
    "write": "results.json",
    "protocol_timing": "authors' protocol timing",
    "scoring": "scoring",
    "bootstrap": "bootstrap",
    "timed_rounds": "timed rounds (workers)",
    "reports": "reports",
    "other": "other",
}


class PhaseClock:
    """Seconds per named phase, each lap ending where the previous one did."""

    def __init__(self) -> None:
        self.start = self._last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.add(phase, now - self._last)
        self._last = now

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + max(0.0, seconds)

    def total(self) -> float:
        return time.perf_counter() - self.start


def cell_timings(outcome: Any, score: Any, executed_s: float, scored_s: float) -> dict[str, float]:
    """A cell's seconds per phase: the worker's own, its start-up as the parent saw it (the
    cell's wall time to the worker's answer, less the worker's phases), scoring, bootstrap."""
    worker = dict(outcome.measurements.timings or {})
    worker_s = worker.pop("worker_s", 0.0)
    timings = {phase: round(seconds, 4) for phase, seconds in worker.items()}
    # the process, its imports and the job's transfer: not inside the worker's own clock
    timings["worker_start"] = round(timings.get("worker_start", 0.0) + executed_s - worker_s, 4)
    bootstrap_s = float((getattr(score, "bootstrap", None) or {}).get("seconds", 0.0))
    timings["scoring"] = round(max(0.0, scored_s - bootstrap_s), 4)
    timings["bootstrap"] = round(bootstrap_s, 4)
    return timings


def run_breakdown(
    records: list[dict[str, Any]], total_s: float, data_s: float, reports_s: float
) -> dict[str, Any]:
    """Seconds per phase of a run (cells' phases summed), with `other` the rest of `total_s`."""
    phases = dict.fromkeys(RUN_PHASES, 0.0)
    phases["data"] = data_s
    phases["reports"] = reports_s
    for record in records:
        for phase, seconds in (record.get("timings") or {}).items():
            if phase in phases:
                phases[phase] += float(seconds)
    phases["other"] = max(0.0, total_s - sum(phases.values()))
    return {
        "total_s": round(total_s, 3),
        "cells": len(records),
        "phases_s": {k: round(v, 3) for k, v in phases.items()},
    }


def breakdown_lines(breakdown: dict[str, Any]) -> list[str]:
    """The breakdown as printed at the end of `run`: one line per phase that took time."""
    total = breakdown["total_s"]
    lines = [f"time: {total:.1f} s in all ({breakdown['cells']} cells run)"]
    for phase, seconds in breakdown["phases_s"].items():
        if seconds >= 0.05:
            share = 100 * seconds / total if total > 0 else 0.0
            lines.append(f"  {LABELS.get(phase, phase):<24} {seconds:7.1f} s  {share:5.1f} %")
    if sum(breakdown["phases_s"].values()) > 1.01 * total:
        lines.append(
            "  (accuracy passes ran side by side: their phases overlap, so the phases add up to "
            "more than the wall time)"
        )
    return lines
