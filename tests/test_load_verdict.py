"""The loaded verdict: a quiet machine running only the cell is not marked, other work is."""

from __future__ import annotations

from vis_bench.measure.load import OTHER_WORK_MARGIN, LoadReading, load_summary


def _verdict(load1: float, threads: int = 2) -> bool:
    start = LoadReading(load1, load1, 1000, 0)
    end = LoadReading(load1, load1, 2000, 10)
    return bool(load_summary(start, end, threads)["loaded"])


def test_the_cells_own_threads_and_a_little_more_are_not_load():
    # an idle 2-core machine timing a 2-thread cell reads 1.98-2.11 (the committed default run)
    assert not _verdict(2.11)
    assert not _verdict(2.0 + OTHER_WORK_MARGIN)


def test_one_other_busy_process_marks_the_cell():
    assert _verdict(3.0)
    assert _verdict(2.0 + OTHER_WORK_MARGIN + 0.01)
    assert _verdict(1.6, threads=1)


def test_steal_share_is_kept_beside_the_verdict():
    summary = load_summary(LoadReading(2.0, 2.0, 1000, 0), LoadReading(2.0, 2.0, 2000, 10), 2)
    assert summary["cpu_steal_share"] == 0.01
