"""Several cells' accuracy passes at once (measure.accuracy_passes), each with its share of the
threads, their outcomes taken in cell order.

An accuracy pass gives a cell's predictions, AP, memory and FLOPs; its FPS comes from the timed
rounds after every accuracy pass (rounds.py), which run one at a time with every thread. A small
model on a CPU does not keep two threads busy (its operators are too short to split well), so
two single-thread passes side by side finish the sweep's accuracy passes sooner than two-thread
passes one after another, and the FPS is untouched. This holds only where nothing timed comes
from the accuracy pass: FPS on (else the pass's own time is the speed figure), no live-stream
replay and no single-clip or authors' protocol (both replay or time the pass's calls), a CPU
device (GPU passes would share one device). Its energy is not read: the cores' joules are not
one pass's (the record says so). Threads change the order of a few sums, so a score can move in
its last digits against a pass with other threads (the timed rounds' check allows for that).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from vis_bench.config import BenchConfig
from vis_bench.measure.protocols import END_TO_END, MODEL

if TYPE_CHECKING:
    from vis_bench.sweep.cells import Cell

#: the protocols taken from the timed rounds alone (any other times the accuracy pass's calls)
ROUND_PROTOCOLS = frozenset({END_TO_END, MODEL})


def passes_at_once(config: BenchConfig, devices: list[str], isolate: bool, ranks: int) -> int:
    """How many accuracy passes this sweep runs at once: `measure.accuracy_passes` where nothing
    timed comes from an accuracy pass and each runs in its own worker, else 1."""
    measure = config.measure
    wanted = measure.accuracy_passes
    if wanted <= 1 or not isolate or ranks > 1:
        return 1
    timed_in_pass = (
        not measure.fps or measure.stream or not set(measure.protocols) <= ROUND_PROTOCOLS
    )
    if timed_in_pass or any(not d.startswith("cpu") for d in devices):
        return 1
    return wanted


def start_order(cells: list[Cell]) -> list[Cell]:
    """The order the passes start in: a prompted method's cells first, the most prompts first
    (all of its label space before any first k), the rest in the sweep's order. A prompted
    pass costs a full detection per prompt per frame, the longest of a sweep by far; started
    in the sweep's order it would often run last and alone, the other slots idle. Outcomes
    are still taken, scored and written in the sweep's order."""

    def prompted_first(cell: Cell) -> tuple[int, float]:
        if cell.method.prompt_count_option is None:
            return (1, 0.0)
        return (0, -(cell.prompts if cell.prompts is not None else float("inf")))

    return sorted(cells, key=prompted_first)  # stable: the sweep's order within a group


def pass_threads(threads: int, at_once: int) -> int:
    """Each pass's share of the threads the timed rounds use (at least one)."""
    return max(1, threads // at_once)


class AheadPasses:
    """Accuracy passes started ahead, `at_once` at a time in cell order; `take(key)` waits for
    one and returns its outcome (or raises what its worker raised)."""

    def __init__(self, at_once: int) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=at_once, thread_name_prefix="accuracy-pass"
        )
        self._futures: dict[str, concurrent.futures.Future] = {}

    def start(self, key: str, run: Callable[[], Any]) -> None:
        self._futures[key] = self._pool.submit(_timed, run)

    def has(self, key: str) -> bool:
        return key in self._futures

    def take(self, key: str) -> tuple[Any, float]:
        """The pass's outcome and its own wall seconds (not the wait for it: it ran ahead)."""
        return self._futures.pop(key).result()

    def close(self) -> None:
        """Cancel what has not started (an interrupted sweep); running workers stop with the
        sweep's process group."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _timed(run: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    outcome = run()
    return outcome, time.perf_counter() - start


@contextmanager
def ahead_passes(at_once: int) -> Iterator[AheadPasses | None]:
    """An AheadPasses while the accuracy passes run (None at one pass at a time)."""
    if at_once <= 1:
        yield None
        return
    ahead = AheadPasses(at_once)
    try:
        yield ahead
    finally:
        ahead.close()
