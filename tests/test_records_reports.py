"""Records are appended whole and read back for resume; reports are pure functions of records."""

from __future__ import annotations

import json

from vis_bench.report.leaderboard import leaderboard_frame, leaderboard_markdown
from vis_bench.report.outputs import write_reports
from vis_bench.report.records import (
    RECORDS_FILE,
    append_record,
    finished_keys,
    latest_records,
    read_records,
)
from vis_bench.report.tables import comparison_table, notes_lines, pivot_table


def record(method, clip, ap, fps, status="ok", key=None, **extra):
    return {
        "key": key or f"{method}-{clip}",
        "status": status,
        "method": method,
        "checkpoint": None,
        "options": {},
        "clip_length": clip,
        "stride": None,
        "resolution": 360,
        "device": "cpu",
        "dtype": "fp32",
        "AP": ap,
        "AP50": ap + 0.1,
        "AP75": ap - 0.1,
        "AR1": ap / 2,
        "AR10": ap,
        "fps_end_to_end": fps,
        "fps_model": fps * 2,
        "gmacs_per_frame": 100.0,
        "params": 48_400_000,
        "environment": {"cpu": "Test CPU"},
        "notes": "",
        **extra,
    }


RECORDS = [
    record("seqformer", "all", 0.45, 10.0),
    record("seqformer", 5, 0.40, 8.0),
    record("ifc", "all", 0.42, 20.0),
    record("ifc", 5, 0.41, 15.0),
    record("mssts", "all", 0.0, 0.0, status="failed", error="boom"),
]


def test_append_and_read_back(tmp_path):
    for r in RECORDS:
        append_record(tmp_path, r)
    assert read_records(tmp_path) == json.loads(json.dumps(RECORDS))
    assert finished_keys(tmp_path) == {"seqformer-all", "seqformer-5", "ifc-all", "ifc-5"}


def test_torn_last_line_is_skipped(tmp_path):
    append_record(tmp_path, RECORDS[0])
    with open(tmp_path / RECORDS_FILE, "a") as handle:
        handle.write('{"key": "half-writ')
    assert [r["key"] for r in read_records(tmp_path)] == ["seqformer-all"]


def test_latest_prefers_success_over_failure():
    failed = record("ifc", 5, 0.0, 0.0, status="failed", key="k")
    ok = record("ifc", 5, 0.3, 1.0, key="k")
    assert latest_records([failed, ok])[0]["status"] == "ok"
    assert latest_records([ok, failed])[0]["status"] == "ok"


def test_comparison_and_pivot_tables():
    table = comparison_table(RECORDS)
    assert "mssts" not in table  # failed cells are not in the table
    lines = [line for line in table.splitlines() if line.startswith("| ifc")]
    assert len(lines) == 2
    assert "all" in lines[0] and "| 5 " in lines[1]  # whole video first, then shorter clips
    assert "42.00" in table
    pivot = pivot_table(RECORDS, "AP", "method", "clip_length")
    assert "45.00" in pivot and "40.00" in pivot


def test_leaderboard_ranks_best_cell_per_method():
    frame = leaderboard_frame(RECORDS)
    assert list(frame["method"]) == ["seqformer", "ifc"]
    assert list(frame["rank"]) == [1, 2]
    assert frame.iloc[0]["AP"] == 45.0
    assert frame.iloc[1]["FPS"] == "20.00 (Test CPU)"
    markdown = leaderboard_markdown(RECORDS)
    assert markdown.startswith("# vis-bench leaderboard")
    assert "48.4M" in markdown


def test_notes_follow_the_method():
    records = [record("mssts", "all", 0.3, 1.0, notes="reconstruction from the paper")]
    assert notes_lines(records) == ["mssts: reconstruction from the paper"]
    assert "reconstruction from the paper" in leaderboard_markdown(records)


def test_write_reports(tmp_path):
    written = write_reports(RECORDS, tmp_path, "test")
    names = {p.name for p in written}
    assert {"tables.md", "leaderboard.md", "ap_vs_clip_length.png", "ap_vs_fps.png"} <= names
    assert (tmp_path / "plots" / "ap_vs_fps.png").stat().st_size > 1000
