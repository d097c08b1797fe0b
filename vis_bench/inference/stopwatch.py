"""Timers that agree across methods: synchronised on GPU, warm-up excluded, medians reported."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


def synchronize(device: str | torch.device) -> None:
    """Wait for queued GPU work so a wall-clock reading covers it (no-op on CPU)."""
    if str(device).startswith("cuda") and torch.cuda.is_available():
        torch.cuda.synchronize(torch.device(device))


def time_call(
    fn: Callable[[], Any], device: str | torch.device, warmup: int, repeats: int
) -> list[float]:
    """Seconds per call of `fn` over `repeats` timed calls after `warmup` untimed ones."""
    for _ in range(max(0, warmup)):
        fn()
    synchronize(device)
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


class Stopwatch:
    """Accumulates wall time over several disjoint regions (e.g. per-video processing).

    `exclude` is a running count of seconds that do not belong to what is timed (the compiler's,
    measure/compile.py): what it grew by inside a region is taken out of that region. `last` is
    the seconds of the latest region alone (a clip's, for the live-stream replay).
    """

    def __init__(
        self, device: str | torch.device = "cpu", exclude: Callable[[], float] | None = None
    ):
        self.device = device
        self.exclude = exclude
        self.total = 0.0
        self.last = 0.0
        self.excluded = 0.0
        self._start: float | None = None
        self._excluded_at_start = 0.0

    def __enter__(self) -> Stopwatch:
        synchronize(self.device)
        self._excluded_at_start = self.exclude() if self.exclude is not None else 0.0
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        synchronize(self.device)
        assert self._start is not None
        elapsed = time.perf_counter() - self._start
        left_out = (self.exclude() - self._excluded_at_start) if self.exclude is not None else 0.0
        self.last = max(0.0, elapsed - left_out)
        self.excluded += left_out
        self.total += self.last
        self._start = None


@dataclass(frozen=True)
class ClipTiming:
    """One clip of one video as the run computed it: its frames and the seconds it took (model
    and the harness's work on it, finalisation included)."""

    frames: range
    seconds: float
