"""What the pages say of an FPS's precision: the interval, the rounds, a figure wider than the
target, and, for a cell that cannot be compared, the verdict instead of a rank or a ratio."""

from __future__ import annotations

from vis_bench.records import CellRecord
from vis_bench.report.exports import speed_columns
from vis_bench.report.leaderboard import leaderboard_frame
from vis_bench.report.record_set import RecordSet
from vis_bench.report.speed_trust import (
    cross_run_ratio,
    paired_ratio,
    precision_text,
    rounds_table,
    verdict_line,
)
from vis_bench.report.tables_document import tables_markdown
from vis_bench.report.twins import speed_verdict_lines


def _record(key: str, fps: float, comparable: bool = True, counted=(1, 2, 3)) -> CellRecord:
    rounds = [
        {"round": i, "fps": fps * (1 + 0.01 * i), "used": True, "counted": i in counted}
        for i in (1, 2, 3)
    ]
    speed = {
        "session": "s",
        "fps": fps,
        "fps_range": [fps, fps * 1.03],
        "fps_ci": [fps * 0.98, fps * 1.04],
        "fps_precision": 0.04,
        "precision_target": 0.03,
        "wider_than_target": True,
        "rounds_timed": 3,
        "rounds_counted": len(counted),
        "rounds_used": list(counted) if comparable else [1, 2, 3],
        "comparable": comparable,
        "not_comparable": None if comparable else "not comparable (loaded): 1 of 3 rounds",
        "rounds": rounds,
    }
    return CellRecord.from_json(
        {
            "key": key, "method": key, "status": "ok", "clip_length": "all", "stride": None,
            "resolution": 144, "device": "cpu", "dtype": "fp32", "fps_end_to_end": fps,
            "speed": speed,
        }
    )  # fmt: skip


def test_the_interval_rounds_and_a_missed_target_are_printed():
    text = precision_text(_record("a", 10.0))
    assert text == "±4.0% [9.80, 10.40] 3 rounds, wider than the 3% target"
    refused = precision_text(_record("b", 10.0, comparable=False, counted=(1,)))
    assert refused.endswith("; not comparable (loaded): 1 of 3 rounds")
    assert " 3 rounds" in refused  # the figure of a refused cell comes from all its rounds
    one = precision_text(_record("c", 10.0, counted=(2,)))
    assert " 1 round," in one
    columns = speed_columns([_record("a", 10.0)])
    assert columns["fps_ci_low"] == [9.8] and columns["fps_precision"] == [0.04]
    assert columns["rounds_counted"] == [3] and columns["fps_comparable"] == [True]


def test_ratios_need_two_common_counted_rounds_and_comparable_cells():
    a, b = _record("a", 10.0), _record("b", 5.0)
    assert paired_ratio(a, b).value == 2.0
    lonely = _record("c", 5.0, counted=(2,))
    assert paired_ratio(a, lonely).why_not.startswith("not paired (1 common round(s)")
    loaded = _record("d", 5.0, comparable=False)
    assert paired_ratio(a, loaded).text() == "not comparable (loaded)"
    assert cross_run_ratio(a, loaded).text() == "not comparable (loaded)"  # across runs too


def test_a_run_that_cannot_be_compared_is_not_ranked_by_fps_and_says_what_to_do():
    slow_first = [_record("slow", 5.0, comparable=False), _record("fast", 10.0)]
    frame = leaderboard_frame(RecordSet.from_records(slow_first))
    assert list(frame["method"]) == ["slow", "fast"]  # record order, not by FPS
    assert "not comparable" in frame["FPS"][0]
    line = verdict_line(slow_first)
    assert line is not None and "re-measure on a quiet machine" in line
    assert speed_verdict_lines(slow_first)[-1] == line
    assert line in tables_markdown(RecordSet.from_records(slow_first), "t")
    comparable = [_record("slow", 5.0), _record("fast", 10.0)]
    assert list(leaderboard_frame(RecordSet.from_records(comparable))["method"]) == [
        "fast", "slow",
    ]  # fmt: skip
    assert verdict_line(comparable) is None


def _confident(precision: float, confidence: float, rounds: int) -> CellRecord:
    """A cell whose interval has `confidence` from `rounds` rounds, `precision` wide."""
    data = _record("a", 10.0).to_json()
    speed = dict(data["speed"], fps_precision=precision, fps_ci_confidence=confidence)
    speed.update(rounds_timed=rounds, rounds_counted=rounds, rounds_used=list(range(rounds)))
    speed["wider_than_target"] = precision > 0.03 or confidence < 0.95  # as the sweep stores it
    return CellRecord.from_json(dict(data, speed=speed))


def test_an_interval_from_too_few_rounds_says_what_it_is_worth_not_that_it_missed_the_target():
    """±0.8 % from 3 rounds met no target only because no 95 % interval exists below 6 rounds:
    the table says so instead of "wider than the 3% target"."""
    from vis_bench.sweep.record import speed_words

    narrow = precision_text(_confident(0.008, 0.75, 3))
    assert narrow == "±0.8% [9.80, 10.40] 3 rounds: a 75% interval; 6 are needed for 95%"
    assert "target" not in " ".join(speed_words(_confident(0.008, 0.75, 3)))
    wide = precision_text(_confident(0.045, 0.96, 9))
    assert wide == "±4.5% [9.80, 10.40] 9 rounds, wider than the 3% target"
    assert "WIDER than the 3% target" in speed_words(_confident(0.045, 0.96, 9))
    assert precision_text(_confident(0.02, 0.96, 9)) == "±2.0% [9.80, 10.40] 9 rounds"
    table = rounds_table([_confident(0.008, 0.75, 3)])
    assert "6 are needed for 95%" in table and "target" not in table
