"""A cell's record is written from its typed parts: the timed rounds complete the record the
accuracy pass made (a `CellRecord`, kept on disk while the cell waits), and `CellRecord.to_json`
alone writes each figure the line repeats (the FPS in `speed`, in each protocol's entry and at
the top level)."""

from __future__ import annotations

from pathlib import Path

from vis_bench.config import MeasureConfig
from vis_bench.records import CellRecord
from vis_bench.records.parts import Speed
from vis_bench.sweep.measured import protocol_parts
from vis_bench.sweep.prediction_check import Check
from vis_bench.sweep.record import finish_record
from vis_bench.sweep.rounds import PendingCell, saved_pending
from vis_bench.sweep.timed_round import RoundOutcome

READING = {"gflops": 100.0, "seconds": 0.01, "device": "cpu"}


def _round(index: int, seconds: float, loaded: bool = False) -> RoundOutcome:
    """A round over 10 frames taking `seconds` (FPS 10 / seconds), its model stage half of it."""
    load = {"loaded": loaded, "load1_start": 1.0, "load1_end": 2.0 + index, "threads": 2}
    return RoundOutcome(
        index, [1, 2], 10, seconds, seconds, {"model": seconds / 2}, READING, READING, load,
        check=Check(identical=2),
    )  # fmt: skip


def _pending(folder: Path, protocols: list[str]) -> PendingCell:
    """A cell whose accuracy pass declared `protocols` (as its worker sends them) and whose three
    rounds ran at 10, 5 and 8 FPS, the second on a loaded machine."""
    results = {name: {"fps": None, "protocol": {"name": name}} for name in protocols}
    entries, fps = protocol_parts(results)
    record = CellRecord(
        key="k", status="ok", protocols=entries, speed=Speed(**fps), timings={"inference": 1.0}
    )
    pending = PendingCell(None, folder, record, {})  # type: ignore[arg-type]
    pending.rounds = [_round(1, 1.0), _round(2, 2.0, loaded=True), _round(3, 1.25)]
    return pending


def _finished(pending: PendingCell) -> dict:
    return finish_record(pending, MeasureConfig(), "s", {"cpu": 100.0}).to_json()


def test_the_rounds_fps_is_written_once_and_repeated_where_the_layout_repeats_it(tmp_path):
    line = _finished(_pending(tmp_path, ["end_to_end", "model"]))
    speed, protocols = line["speed"], line["protocols"]
    assert line["fps_end_to_end"] == speed["fps"] == protocols["end_to_end"]["fps"] == 8.0
    assert line["fps_model"] == speed["fps_model"] == protocols["model"]["fps"] == 16.0
    assert protocols["end_to_end"]["range"] == speed["fps_range"] == [5.0, 10.0]
    assert protocols["model"]["range"] == speed["fps_model_range"] == [10.0, 20.0]
    assert protocols["end_to_end"]["rounds"] == speed["rounds_timed"] == 3
    assert protocols["end_to_end"]["protocol"] == {"name": "end_to_end"}
    assert line["load"]["loaded"] is speed["loaded"] is True and line["load"]["rounds_loaded"] == 1
    assert line["load"]["load1_start"] == 1.0 and line["load"]["load1_max"] == 5.0
    assert line["timings"] == {"inference": 1.0, "timed_rounds": 0.0}
    assert CellRecord.from_json(line).to_json() == line


def test_a_cell_that_did_not_ask_for_end_to_end_keeps_the_rounds_median_in_speed(tmp_path):
    line = _finished(_pending(tmp_path, ["model"]))
    assert line["fps_end_to_end"] is None and "end_to_end" not in line["protocols"]
    assert line["speed"]["fps"] == 8.0 and line["fps_model"] == 16.0
    assert CellRecord.from_json(line).to_json() == line


def test_a_cell_waiting_for_its_rounds_resumes_with_the_same_record(tmp_path):
    pending = _pending(tmp_path, ["end_to_end", "model"])
    pending.save()
    saved = saved_pending(None, tmp_path, "k")  # type: ignore[arg-type]
    assert saved is not None and saved.record is not None and pending.record is not None
    assert saved.record.to_json() == pending.record.to_json()
    saved.rounds = pending.rounds
    resumed, straight = _finished(saved), _finished(pending)
    assert resumed.pop("finished") and straight.pop("finished")
    assert resumed == straight


def test_a_cell_whose_rounds_failed_is_recorded_failed_without_a_speed(tmp_path):
    pending = _pending(tmp_path, ["end_to_end", "model"])
    pending.failure = "timed round 2: killed"
    line = _finished(pending)
    assert line["status"] == "failed" and line["error"] == "timed round 2: killed"
    assert line["speed"] is None and line["fps_end_to_end"] is None
    assert line["protocols"]["end_to_end"] == {"fps": None, "protocol": {"name": "end_to_end"}}
