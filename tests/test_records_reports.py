"""Records are appended whole and read back for resume; reports are pure functions of records."""

from __future__ import annotations

import json

import pytest

from vis_bench.errors import InputError
from vis_bench.records import CellRecord
from vis_bench.records.store import (
    RECORDS_FILE,
    append_record,
    finished_keys,
    latest_records,
    read_records,
)
from vis_bench.report.axis_tables import axis_table
from vis_bench.report.leaderboard import leaderboard_frame, leaderboard_markdown
from vis_bench.report.outputs import write_reports
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables import comparison_table, notes_lines

as_set = RecordSet.from_records


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
    failed, ok = CellRecord.from_json(failed), CellRecord.from_json(ok)
    assert latest_records([failed, ok])[0].status == "ok"
    assert latest_records([ok, failed])[0].status == "ok"


def test_comparison_and_pivot_tables():
    table = comparison_table(as_set(RECORDS))
    failed = [line for line in table.splitlines() if line.startswith("| mssts")]
    assert len(failed) == 1 and "FAILED: boom" in failed[0]  # failed cells stay, with the reason
    lines = [line for line in table.splitlines() if line.startswith("| ifc")]
    assert len(lines) == 2
    assert "all" in lines[0] and "| 5 " in lines[1]  # whole video first, then shorter clips
    assert "one clip" in lines[0]  # T=all has no stride: it is one clip per video
    assert "42.00" in table
    pivot = axis_table(as_set(RECORDS), "AP", "clip_length")
    assert "45.00" in pivot and "40.00" in pivot


def test_one_clip_length_order_everywhere():
    records = [record("ifc", t, 0.4, 1.0, key=f"k{t}") for t in (5, "all", 10, 20)]
    pivot = axis_table(as_set(records), "AP", "clip_length").splitlines()[0]
    assert [c.strip() for c in pivot.strip("|").split("|")][1:] == ["all", "20", "10", "5"]
    rows = [
        line.split("|")[2].strip() for line in comparison_table(as_set(records)).splitlines()[2:]
    ]
    assert rows == ["all", "20", "10", "5"]


def test_cells_measured_with_fast_paths_off_are_marked():
    """Two records of the same cell, paths all on and one off: only the second is marked."""
    default = record("seqformer", 5, 0.3, 10.0, execution={"non_default": []})
    off = record(
        "seqformer",
        5,
        0.3,
        8.0,
        key="k2",
        execution={"non_default": ["fast path query_masks off"]},
    )
    assert "10.00‡" not in comparison_table(as_set([default]))
    assert "8.00‡" in comparison_table(as_set([off]))
    notes = notes_lines(as_set([default, off]))
    assert any("‡" in line and "fast path query_masks off" in line for line in notes)
    assert not any("‡" in line for line in notes_lines(as_set([default])))


def test_fps_measured_under_load_is_marked():
    busy = record("ifc", 5, 0.4, 12.5, load={"loaded": True, "load1_start": 3.0})
    table = comparison_table(as_set([busy]))
    assert "12.50*" in table
    assert any("loaded" in line for line in notes_lines(as_set([busy])))
    assert "12.50" in comparison_table(as_set([record("ifc", 5, 0.4, 12.5)]))
    assert "12.50*" not in comparison_table(as_set([record("ifc", 5, 0.4, 12.5)]))


@pytest.mark.parametrize("ap", [True, False])
@pytest.mark.parametrize("fps", [True, False])
@pytest.mark.parametrize("flops", [True, False])
def test_every_measure_switch_combination_makes_reports(tmp_path, ap, fps, flops):
    """Records of a sweep with any `measure` switch off still make every table and plot."""
    drop = set()
    if not ap:
        drop |= {"AP", "AP50", "AP75", "AR1", "AR10"}
    if not fps:
        drop |= {"fps_end_to_end", "fps_model"}
    if not flops:
        drop |= {"gmacs_per_frame"}
    # a switched-off measurement is absent (older records) or None (the record's fields)
    records = [{k: v for k, v in r.items() if k not in drop} for r in RECORDS]
    records += [{**r, "key": r["key"] + "-n", **dict.fromkeys(drop)} for r in RECORDS]
    table = comparison_table(as_set(records))
    assert "seqformer" in table
    header = [c.strip() for c in table.splitlines()[0].strip("|").split("|")]
    assert ("FPS" in header) == fps and ("AP50" in header) == ap  # the leaderboard's names
    assert ("GMACs" in header) == flops and "params" in header
    write_reports(as_set(records), tmp_path, "switches")
    assert (tmp_path / "leaderboard.md").is_file() and (tmp_path / "tables.md").is_file()


def test_reports_name_the_dataset_and_refuse_to_rank_two_together():
    ours = [dict(r, dataset="a", dataset_label="synthetic (seed 0, 24 videos)") for r in RECORDS]
    small = [
        dict(r, key=r["key"] + "-3", dataset="b", dataset_label="synthetic (seed 0, 3 videos)")
        for r in RECORDS
    ]
    assert "synthetic (seed 0, 24 videos)" in leaderboard_markdown(as_set(ours))
    with pytest.raises(InputError, match="2 datasets"):
        leaderboard_markdown(as_set(ours + small))
    grouped = leaderboard_markdown(as_set(ours + small), group_datasets=True)
    assert (
        "## synthetic (seed 0, 24 videos)" in grouped
        and "## synthetic (seed 0, 3 videos)" in grouped
    )
    assert "dataset" in comparison_table(as_set(ours + small)).splitlines()[0]


def test_leaderboard_ranks_best_cell_per_method_and_says_so():
    frame = leaderboard_frame(as_set(RECORDS))
    assert list(frame["method"]) == ["seqformer", "ifc"]
    assert list(frame["rank"]) == [1, 2]
    assert frame.iloc[0]["AP"] == 45.0
    assert frame.iloc[1]["FPS"] == "20.00 (Test CPU)"
    assert list(frame["cells"]) == [2, 2]  # the best of 2 cells each
    markdown = leaderboard_markdown(as_set(RECORDS))
    assert markdown.startswith("# vis-bench leaderboard")
    assert "48.4M" in markdown
    assert "best-AP cell among the cells it ran" in markdown


def test_notes_follow_the_method():
    records = [record("mssts", "all", 0.3, 1.0, notes="reconstruction from the paper")]
    assert notes_lines(as_set(records)) == ["mssts: reconstruction from the paper"]
    assert "reconstruction from the paper" in leaderboard_markdown(as_set(records))


def test_write_reports(tmp_path):
    written = write_reports(as_set(RECORDS), tmp_path, "test")
    names = {p.name for p in written}
    assert {"tables.md", "leaderboard.md", "ap_vs_clip_length.png", "ap_vs_fps.png"} <= names
    assert (tmp_path / "plots" / "ap_vs_fps.png").stat().st_size > 1000


def test_the_all_cells_table_names_columns_as_the_leaderboard_does_with_memory_and_size():
    records = [record("ifc", "all", 0.42, 20.0, peak_rss_mb=512.4)]
    header, _, row = comparison_table(as_set(records)).splitlines()[:3]
    names = [c.strip() for c in header.strip("|").split("|")]
    assert names[:4] == ["method", "T", "S", "resolution"]
    assert names[-5:] == ["FPS", "model FPS", "GMACs", "params", "memory MiB"]
    assert "fps_end_to_end" not in header and "clip_length" not in header
    assert [c.strip() for c in row.strip("|").split("|")][-3:] == ["100.00", "48.4M", "512"]


def test_a_query_linked_methods_same_ap_at_every_clip_length_is_explained():
    """From the method's declared linking (the record set's `query_linking`), only where its AP
    is indeed the same at every clip length."""
    import dataclasses

    from vis_bench.report.tables_document import same_ap_lines, tables_markdown

    same = [record("perframe", t, 0.42, 30.0 + i) for i, t in enumerate(("all", 10, 5))]
    moved = [record("clipwise", t, 0.40 + i / 100, 30.0) for i, t in enumerate(("all", 10, 5))]
    plain = as_set(same + moved)
    assert same_ap_lines(plain) == []  # no declaration known: nothing claimed
    linked = dataclasses.replace(
        plain, query_linking={"perframe": "frame to frame", "clipwise": "frame to frame"}
    )
    (line,) = same_ap_lines(linked)  # clipwise's AP moves: no claim about it
    assert line.startswith("perframe: the same AP at every clip length (all, 10, 5)")
    assert "(frame to frame)" in line and line in tables_markdown(linked, "t")


def test_the_record_set_reads_each_methods_linking_from_its_declaration():
    from vis_bench.api.linking import gives_each_frame_once, links_query_tracks
    from vis_bench.api.registration import available_methods, get_method
    from vis_bench.report.record_set import ONCE_NOTE, query_linking

    found = query_linking([*available_methods(), "not-a-method"])
    linking = {m: get_method(m).spec.linking for m in available_methods()}
    expected = {m for m, v in linking.items() if links_query_tracks(v) or gives_each_frame_once(v)}
    assert set(found) == expected and expected
    for method in found:
        once = ONCE_NOTE if gives_each_frame_once(linking[method]) else ""
        assert found[method] == linking[method].name + once
    assert found["minvis"].endswith(ONCE_NOTE) and "dvis-plus-offline" in found
