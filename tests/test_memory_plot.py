"""The memory-vs-length plot and table are pure functions of records; failed cells stay visible."""

from __future__ import annotations

from vis_bench.records import CellRecord
from vis_bench.report.memory_plot import frames_per_video, memory_table, plot_memory_vs_frames
from vis_bench.report.record_set import RecordSet

as_set = RecordSet.from_records


def _record(method, clip, stride, frames, peak, status="ok", **extra):
    return {
        "key": f"{method}-{clip}-{stride}-{frames}",
        "status": status,
        "method": method,
        "clip_length": clip,
        "stride": stride,
        "video_frames": frames,
        "num_frames": frames,
        "num_videos": 1,
        "peak_rss_mb": peak,
        "rss_after_build_mb": 500.0 if peak else None,
        "activation_peak_mb": peak - 500.0 if peak else None,
        "fps_model": 2.0,
        "fps_end_to_end": 1.5,
        "harness": {
            "overhead_s_per_frame": 0.02,
            "overhead_share": 0.03,
            "stitch_state_peak_mb": 4.2,
        },
        "environment": {"cpu": "Test CPU", "threads": 2},
        **extra,
    }


RECORDS = [
    _record("ifc", 5, 1, 36, 900.0),
    _record("ifc", 5, 1, 72, 901.0),
    _record("ifc", "all", None, 36, 1200.0),
    _record(
        "ifc", "all", None, 72, None, status="failed", error="out of memory (killed by signal 9)"
    ),
]


def test_table_has_a_row_per_cell_and_names_failures():
    table = memory_table(as_set(RECORDS))
    rows = [line for line in table.splitlines() if line.startswith("| ifc")]
    assert len(rows) == 4
    assert "| ifc | T=5 S=1 | 36 | 900 | 500 | 400 | 2.000 | 1.500 | 0.020 | 3.0 % | 4.2 |" in rows
    assert any("FAILED: out of memory (killed by signal 9)" in row for row in rows)


def test_plot_is_written_with_failed_cells_and_skipped_without_memory(tmp_path):
    path = plot_memory_vs_frames(as_set(RECORDS), tmp_path / "memory.png")
    assert path is not None and path.stat().st_size > 0
    no_memory = [{**r, "peak_rss_mb": None} for r in RECORDS]
    assert plot_memory_vs_frames(as_set(no_memory), tmp_path / "none.png") is None


def test_whole_video_cells_use_their_mean_length():
    whole = {**RECORDS[0], "video_frames": None, "num_frames": 90, "num_videos": 3}
    assert frames_per_video(CellRecord.from_json(whole)) == 30.0


def test_a_run_with_a_video_length_axis_reports_memory_and_one_without_does_not(tmp_path):
    from vis_bench.report.outputs import write_reports
    from vis_bench.report.tables_document import tables_markdown

    cells = [{**r, "resolution": 360, "device": "cpu", "dtype": "fp32"} for r in RECORDS]
    written = write_reports(as_set(cells), tmp_path, "long videos")
    assert tmp_path / "plots" / "memory_vs_frames.png" in written
    assert "## Memory and time against video length" in tables_markdown(as_set(cells), "t")
    whole = [{**r, "video_frames": None} for r in cells]
    assert "video length" not in tables_markdown(as_set(whole), "t")


def test_the_table_names_the_resolution_where_cells_differ_on_it():
    """Two resolutions of the same schedule and length: two rows told apart by a resolution
    column, not the same (method, schedule, frames) twice; one resolution: said above."""
    two = [
        _record("ifc", 5, 1, 36, 900.0, resolution=240, key="a"),
        _record("ifc", 5, 1, 36, 950.0, resolution=360, key="b"),
    ]
    table = memory_table(as_set(two))
    assert table.splitlines()[0].startswith("| method | schedule | resolution | frames |")
    assert "| ifc | T=5 S=1 | 240 | 36 | 900 |" in table
    assert "| ifc | T=5 S=1 | 360 | 36 | 950 |" in table
    one = memory_table(as_set(two[:1]))
    assert one.startswith("Every cell here: resolution 240.\n")
    assert "| method | schedule | frames |" in one
