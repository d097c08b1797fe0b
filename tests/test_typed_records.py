"""A record is read back as the type it was made as, and written back as the JSON it was read from:
every committed records.jsonl line round-trips, each repeated number has one name in the typed
view, and a record made now writes every field of the layout external readers know."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.tracked import tracked, tracked_params
from vis_bench.records import LAYOUT, CellRecord
from vis_bench.records.parts import Rounds

ROOT = Path(__file__).resolve().parents[1]
#: git's list: never a user's run folder (or any other untracked file) beside the committed ones
PATTERNS = ("results/*/records.jsonl", "benchmarks/**/records.jsonl")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("path", tracked_params(*PATTERNS), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_committed_record_is_written_back_as_it_was_read(path):
    lines = _lines(path)
    assert lines
    for line in lines:
        written = CellRecord.from_json(line).to_json()
        for key, value in line.items():
            assert written[key] == value, (line.get("key"), key)
        assert set(written) == set(line)  # nothing added to an older record's line


def test_the_committed_records_cover_every_layout_field_they_use():
    """Every top-level key of a committed record is a field of the layout, a metric, an
    interval or the gathered runs' `repeat`."""
    for path in tracked(*PATTERNS):
        for line in _lines(path):
            record = CellRecord.from_json(line)
            assert not record.extra, (path, sorted(record.extra))
            assert set(line) == (
                set(LAYOUT) & set(line)
                | set(record.metrics)
                | {f"{name}_ci" for name in record.intervals}
                | ({"repeat"} if "repeat" in line else set())
            )


def test_each_fps_has_one_name_in_the_typed_view():
    line = _lines(ROOT / "results" / "protocols" / "records.jsonl")[0]
    record = CellRecord.from_json(line)
    assert record.speed.fps_end_to_end == line["fps_end_to_end"]
    assert record.speed.fps_model == line["protocols"]["model"]["fps"]
    for entry in record.protocols.values():
        assert "fps" not in entry.extra and not hasattr(entry, "fps")
    # the JSON keeps its repeats for readers of the file, written from the one attribute
    written = record.to_json()
    assert written["protocols"]["end_to_end"]["fps"] == record.speed.fps_end_to_end
    assert written["protocols"]["authors"]["fps"] == record.speed.fps_authors


def _timed(fps_end_to_end: float | None) -> dict:
    """A record with timed rounds whose protocols held end to end or not (`fps_end_to_end`)."""
    protocols = {"model": {"fps": 8.0, "range": [7.0, 9.0], "rounds": 3, "protocol": {}}}
    if fps_end_to_end is not None:
        protocols["end_to_end"] = {"fps": 5.0, "range": [4.0, 6.0], "rounds": 3, "protocol": {}}
    return {
        "key": "k",
        "status": "ok",
        "fps_end_to_end": fps_end_to_end,
        "fps_model": 8.0,
        "load": {"loaded": True, "load1_start": 3.0, "threads": 2},
        "protocols": protocols,
        "speed": {
            "session": "s",
            "fps": 5.0,
            "fps_range": [4.0, 6.0],
            "fps_model": 8.0,
            "fps_model_range": [7.0, 9.0],
            "loaded": True,
            "noisy": False,
            "rounds_timed": 3,
            "rounds": [{"round": 0, "fps": 5.0, "fps_model": 8.0, "used": True, "seconds": 1}],
        },
        "AP": 0.4,
        "AP_ci": [0.3, 0.5],
    }


def test_timed_rounds_hold_their_figures_once_and_write_the_repeats_back():
    line = _timed(5.0)
    record = CellRecord.from_json(line)
    rounds = record.speed.rounds
    assert isinstance(rounds, Rounds) and rounds.fps_range == [4.0, 6.0]
    assert not rounds.extra  # the median, the model's and the loaded verdict live in `speed`
    assert record.speed.loaded and not record.speed.noisy
    assert rounds.rounds[0].fps == 5.0 and rounds.rounds[0].seconds == 1
    assert not record.protocols["end_to_end"].extra  # its FPS, range and rounds are the speed's
    assert record.metric("AP") == 0.4 and record.interval("AP") == [0.3, 0.5]
    assert record.to_json() == line


def test_a_rounds_median_the_cell_did_not_report_is_kept_as_written():
    """protocols without end_to_end: the record reports no end-to-end FPS, its rounds still
    hold their median, which no report reads as the cell's FPS."""
    line = _timed(None)
    record = CellRecord.from_json(line)
    assert record.speed.fps_end_to_end is None
    assert record.speed.rounds.extra == {"fps": 5.0}
    assert record.to_json() == line


def test_a_record_made_now_writes_every_field_of_the_layout():
    written = CellRecord(key="k", status="ok", metrics={"AP": 0.5}).to_json()
    assert set(written) == {*LAYOUT, "AP"}
    assert written["speed"] is None and written["fps_end_to_end"] is None
    assert "repeat" not in written  # only a report gathering repeated runs sets it
