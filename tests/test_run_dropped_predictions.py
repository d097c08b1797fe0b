"""Predictions the metric drops inside a `run` cell are not passed silently: the cell's record
counts them (`metric_dropped`) and says what and the fix in a warning every page starts with, and
`run` exits 1 (a bad answer) unless `--allow-dropped` says that is intended, as `eval` does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.cli import main
from vis_bench.config import parse_config
from vis_bench.exit_codes import BAD_ANSWER
from vis_bench.formats.rle import encode, to_json
from vis_bench.inference.sources import open_source
from vis_bench.records import CellRecord
from vis_bench.records.store import read_records


def _config(tmp_path: Path, label: int) -> dict:
    return {
        "name": "dropped",
        "dataset": {
            "kind": "synthetic",
            "videos": 2,
            "min_frames": 3,
            "max_frames": 4,
            "cache_dir": str(tmp_path / "cache"),
        },
        "methods": [{"name": "toy", "options": {"label": label}}],
        "sweep": {"clip_length": ["all"], "resolution": [32]},
        "measure": {**QUICK_ROUNDS, "warmup": 0, "flops": False, "rounds": 1, "bootstrap": 0},
        "output": str(tmp_path / "runs"),
    }


def _record_with(tmp_path: Path, predictions: list[dict]) -> CellRecord:
    """The record of a toy cell whose results.json holds `predictions`, as `run` makes it."""
    from vis_bench.sweep import resolve_methods
    from vis_bench.sweep.cells import expand_cells
    from vis_bench.sweep.record import RunInfo, make_record
    from vis_bench.sweep.scoring import Scorer

    config = parse_config(_config(tmp_path, 1))
    source = open_source(config.dataset)
    (cell,) = expand_cells(config, resolve_methods(config))
    results = tmp_path / "cell" / "results.json"
    results.parent.mkdir()
    score = Scorer(source.gt_path).score(results, predictions)
    info = RunInfo("dropped", config.config_hash(), "d", "synthetic", isolated=False)
    record = make_record(cell, info, "now", "", score=score)
    return CellRecord.from_json(record.to_json())


def _prediction(tmp_path: Path, category: int, frames: int | None = None) -> dict:
    import json

    import numpy as np

    source = open_source(parse_config(_config(tmp_path, 1)).dataset)
    gt = json.loads(Path(source.gt_path).read_text())
    video = gt["videos"][0]
    mask = np.zeros((video["height"], video["width"]), dtype=np.uint8)
    mask[:4, :4] = 1
    length = len(video["file_names"]) if frames is None else frames
    return {
        "video_id": video["id"],
        "category_id": category,
        "score": 0.9,
        "segmentations": [to_json(encode(mask))] * length,
    }


def test_a_cell_whose_predictions_the_metric_drops_says_so_in_its_record(tmp_path):
    from vis_bench.report.record_set import RecordSet
    from vis_bench.report.tables import notes_lines

    record = _record_with(tmp_path, [_prediction(tmp_path, 1), _prediction(tmp_path, 99)])
    assert record.metric_dropped["predictions"] == 1 and record.metric_dropped["of"] == 2
    assert "category_id" in record.metric_dropped["lines"][0]
    note = next(n for n in record.notes.split("; ") if n.startswith("WARNING:"))
    assert "dropped or cut 1 of 2 predictions" in note and "99 (x1)" in note
    assert "--allow-dropped" in note and "fix the method's output" in note
    lines = notes_lines(RecordSet.from_records([record.to_json()], tmp_path))
    assert note in lines  # the console, tables.md, leaderboard.md and report.html start with it


def test_a_frame_list_of_the_wrong_length_is_counted_as_cut(tmp_path):
    record = _record_with(tmp_path, [_prediction(tmp_path, 1, frames=2)])
    assert record.metric_dropped["predictions"] == 1
    assert "segmentations" in record.metric_dropped["lines"][0]


def test_a_cell_whose_predictions_are_all_scored_has_no_dropped_field(tmp_path):
    record = _record_with(tmp_path, [_prediction(tmp_path, 1)])
    assert record.metric_dropped is None and "WARNING" not in record.notes


@pytest.mark.slow
def test_run_exits_bad_answer_when_a_cell_dropped_predictions_unless_allowed(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, 99)))  # the dataset has no category 99
    assert main(["run", "--config", str(path), "--in-process"]) == BAD_ANSWER
    out = capsys.readouterr().out
    assert "DROPPED" in out and "pass --allow-dropped if that is intended" in out
    run_dir = tmp_path / "runs" / "dropped"
    (record,) = read_records(run_dir)
    assert record["status"] == "ok" and record["metric_dropped"]["predictions"] > 0
    for page in ("tables.md", "leaderboard.md", "report.html"):
        assert "the metric dropped or cut" in (run_dir / page).read_text(), page
    # allowed: the finished cell is kept (not run again), still said, and the exit is 0
    assert main(["run", "--config", str(path), "--in-process", "--allow-dropped"]) == 0
    assert "(--allow-dropped)" in capsys.readouterr().out


@pytest.mark.slow
def test_run_whose_cells_drop_nothing_exits_0(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, 1)))
    assert main(["run", "--config", str(path), "--in-process"]) == 0
    (record,) = read_records(tmp_path / "runs" / "dropped")
    assert record["metric_dropped"] is None
