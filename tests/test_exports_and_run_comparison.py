"""Leaderboard exports, the flat per-cell CSV, and compare-runs on copies of the committed run."""

from __future__ import annotations

import io
import json
import shutil

import pandas as pd
import pytest
from conftest import REPO_ROOT

from vis_bench.cli import main
from vis_bench.report.exports import cells_frame, export_leaderboard
from vis_bench.report.record_set import RecordSet
from vis_bench.report.run_comparison import setting_changes, shared_cells

RUN = REPO_ROOT / "results" / "default_run"


@pytest.fixture
def record_set():
    return RecordSet.read([RUN])


def test_cells_csv_has_every_cell_with_plain_numbers(record_set):
    frame = cells_frame(record_set)
    assert len(frame) == len(record_set)
    first = record_set.records[0]
    row = frame[frame["key"] == first.key].iloc[0]
    assert row["AP"] == pytest.approx(100 * first.metric("AP"))
    assert row["AP_low"] == pytest.approx(100 * first.interval("AP")[0])
    assert row["fps_end_to_end"] == pytest.approx(first.speed.fps_end_to_end)
    assert row["commit"] == first.provenance.commit


def test_leaderboard_exports_agree_with_each_other(record_set):
    table = pd.read_csv(io.StringIO(export_leaderboard(record_set, "csv", "t")))
    rows = json.loads(export_leaderboard(record_set, "json", "t"))["rows"]
    assert list(table["method"]) == [r["method"] for r in rows]
    assert table["AP"].tolist() == pytest.approx([r["AP"] for r in rows])
    assert table["AP"].is_monotonic_decreasing  # ranked by AP
    latex = export_leaderboard(record_set, "latex", "a_title")
    assert r"\toprule" in latex and r"a\_title" in latex
    assert f"{table['AP'][0]:.2f}" in latex


def test_leaderboard_command_writes_a_format(tmp_path):
    out = tmp_path / "board.csv"
    assert main(["leaderboard", str(RUN), "--format", "csv", "--out", str(out)]) == 0
    assert pd.read_csv(out)["rank"].tolist()[0] == 1


def _copy_run(tmp_path, name, change):
    """A copy of the committed run (records and side files), each record passed to `change`."""
    folder = tmp_path / name
    shutil.copytree(RUN, folder, ignore=shutil.ignore_patterns("report.html", "plots"))
    lines = (folder / "records.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    for record in records:
        change(record)
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def _machine(gflops: float):
    """A change that gives every record the machine reference speed `gflops`, on a machine
    that held it through the cell's rounds (whatever the committed run's machine did)."""

    def change(record):
        speed = {k: v for k, v in (record.get("speed") or {}).items() if k != "not_comparable"}
        record["speed"] = {**speed, "reference_gflops": gflops, "comparable": True}

    return change


def test_compare_runs_pairs_shared_cells_and_names_what_changed(tmp_path, capsys):
    def slower_and_other_threads(record):
        _machine(100.0)(record)
        record["fps_end_to_end"] /= 2
        record["config"]["measure"]["repeats"] = 7
        record["environment"]["threads"] = 3  # neither run's (the passes' own: 1)

    a = _copy_run(tmp_path, "a", _machine(100.0))
    b = _copy_run(tmp_path, "b", slower_and_other_threads)
    cells = len(RecordSet.read([a]))
    pairs, only_a, only_b = shared_cells(RecordSet.read([a]), RecordSet.read([b]))
    assert len(pairs) == cells and not only_a and not only_b
    changes = setting_changes(RecordSet.read([a]), RecordSet.read([b]))
    assert any(c.startswith("config measure.repeats:") and c.endswith("-> 7") for c in changes)
    assert any(c.startswith("environment threads:") for c in changes)
    assert main(["compare-runs", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    # half the FPS on a machine as fast: the code is slower
    assert f"## Shared cells ({cells})" in out and "| 0.50x" in out
    # the same predictions in both runs: every AP difference is 0 and not significant
    assert "+0.00 [+0.00, +0.00] n.s." in out


def test_compare_runs_refuses_fps_of_machines_of_other_speeds(tmp_path, capsys):
    def slower_machine(record):
        _machine(40.0)(record)
        record["fps_end_to_end"] /= 2

    a = _copy_run(tmp_path, "a", _machine(100.0))
    b = _copy_run(tmp_path, "b", slower_machine)
    assert main(["compare-runs", str(a), str(b)]) == 0
    out = capsys.readouterr().out.split("## Speed at equal AP")[0]  # the shared cells
    assert "not comparable (machine reference A 100, B 40 GFLOP/s)" in out
    assert "| 0.50x" not in out  # the raw ratio is a property of the machines
    assert main(["compare-runs", str(a), str(b), "--reference-tolerance", "2"]) == 0
    assert "| 1.25x" in capsys.readouterr().out  # at equal machine speed: 0.5 / 0.4


def test_compare_runs_lists_cells_of_one_run_only(tmp_path, capsys):
    def other_method_name(record):
        if record["method"] == "ifc":
            record["method"] = "ifc-renamed"

    b = _copy_run(tmp_path, "b", other_method_name)
    cells = len(RecordSet.read([RUN]))
    ifc = sum(r.method == "ifc" for r in RecordSet.read([RUN]))
    assert main(["compare-runs", str(RUN), str(b)]) == 0
    out = capsys.readouterr().out
    assert f"## Shared cells ({cells - ifc})" in out
    assert f"## Only in A ({ifc})" in out and f"## Only in B ({ifc})" in out


def test_compare_runs_matches_the_same_cells_run_on_another_device(tmp_path, capsys):
    """A CPU run against a GPU run of the same cells (the GPU table's AP check): the device is
    what changed, so each cell is paired with its twin on the other device; where one run holds
    several devices, the device stays part of what a cell measures."""
    on_gpu = _copy_run(tmp_path, "gpu", lambda record: record.update(device="cuda"))
    cells = len(RecordSet.read([RUN]))
    assert main(["compare-runs", str(RUN), str(on_gpu)]) == 0
    out = capsys.readouterr().out
    assert f"## Shared cells ({cells})" in out
    assert "Matched across device: every cell of A on cpu, of B on cuda." in out

    def ifc_only(record):
        if record["method"] == "ifc":
            record["device"] = "cuda"

    mixed = _copy_run(tmp_path, "mixed", ifc_only)
    ifc = sum(r.method == "ifc" for r in RecordSet.read([RUN]))
    assert main(["compare-runs", str(RUN), str(mixed)]) == 0
    out = capsys.readouterr().out
    assert f"## Shared cells ({cells - ifc})" in out and "Matched across" not in out
