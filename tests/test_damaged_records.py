"""A damaged line of records.jsonl (a write cut short by a crash or a full disk) is never skipped
in silence, and a resumed sweep repairs the file before it appends: no record is lost."""

from __future__ import annotations

import json

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
import vis_bench.records.store as records_module
from tests.helpers.memory_source import MemorySource
from vis_bench.cli import main
from vis_bench.config import parse_config
from vis_bench.records.store import (
    DAMAGED_FILE,
    RECORDS_FILE,
    append_record,
    read_cell_records,
    read_records,
)
from vis_bench.sweep import run_sweep

QUIET = {"log": lambda s: None}


def _config(clip_length):
    return parse_config(
        {
            "name": "t",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "toy"}],
            "sweep": {"clip_length": clip_length},
            "measure": {"warmup": 0, "repeats": 1, "fps": False, "flops": False, "bootstrap": 0},
        }
    )


def _cut_last_line(run_dir):
    """records.jsonl as a crash mid-write leaves it: the last line cut short, no line end."""
    path = run_dir / RECORDS_FILE
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    return path


def test_every_reader_names_the_file_the_line_and_what_is_kept(tmp_path, capsys, monkeypatch):
    run_sweep(_config(["all", 2]), MemorySource(lengths=(4,)), tmp_path, **QUIET)
    path = _cut_last_line(tmp_path)
    capsys.readouterr()
    assert len(read_records(tmp_path)) == 1
    err = capsys.readouterr().err
    assert f"{path}: line 2 is no whole record" in err and "the 1 whole record(s) are kept" in err
    messages = []
    assert len(read_cell_records(path)) == 1
    read_records(tmp_path, warn=messages.append)  # a reader that asks is told every time
    assert len(messages) == 1 and "line 2" in messages[0]
    # a command reading the folder (its own process: nothing reported in it yet) says it
    # too, and still works
    monkeypatch.setattr(records_module, "_reported", set())
    assert main(["leaderboard", str(tmp_path), "--out", str(tmp_path / "lb.md")]) == 0
    assert "line 2 is no whole record" in capsys.readouterr().err


def test_a_garbled_line_in_the_middle_is_reported_not_a_traceback(tmp_path, capsys):
    append_record(tmp_path, {"key": "a", "status": "ok"})
    with open(tmp_path / RECORDS_FILE, "ab") as handle:
        handle.write(b"\xff\xfe\x00 not json\n[1, 2]\n")
    append_record(tmp_path, {"key": "b", "status": "ok"})
    assert [r["key"] for r in read_records(tmp_path)] == ["a", "b"]
    err = capsys.readouterr().err
    assert "line 2 is no whole record" in err and "line 3 is no whole record" in err


def test_an_append_after_a_cut_line_starts_its_own_line(tmp_path):
    append_record(tmp_path, {"key": "a", "status": "ok"})
    with open(tmp_path / RECORDS_FILE, "a") as handle:
        handle.write('{"key": "half-writ')
    append_record(tmp_path, {"key": "b", "status": "ok"})
    assert [r["key"] for r in read_records(tmp_path, warn=lambda m: None)] == ["a", "b"]


def test_a_resumed_sweep_repairs_the_file_before_appending(tmp_path, capsys):
    run_sweep(_config(["all", 2]), MemorySource(lengths=(4,)), tmp_path, **QUIET)
    path = _cut_last_line(tmp_path)
    cut = path.read_bytes().splitlines()[-1]
    logged = []
    # the cell of the cut line is run again; the new cell's record follows
    run_sweep(_config(["all", 2, 3]), MemorySource(lengths=(4,)), tmp_path, log=logged.append)
    assert any(line.startswith(f"repaired {path}: line 2") for line in logged)
    capsys.readouterr()
    records = read_records(tmp_path)
    assert capsys.readouterr().err == ""  # repaired: nothing left to report
    assert sorted(str(r["clip_length"]) for r in records) == ["2", "3", "all"]
    assert all(r["status"] == "ok" for r in records)
    assert all(json.loads(line) for line in path.read_text().splitlines())
    assert (tmp_path / DAMAGED_FILE).read_bytes() == cut + b"\n"  # kept aside, not deleted


def test_a_damaged_run_json_or_cell_index_is_written_anew(tmp_path, capsys):
    run_sweep(_config(["all"]), MemorySource(lengths=(4,)), tmp_path, **QUIET)
    (tmp_path / "run.json").write_text('{"dataset_id": "synth')  # cut short
    (tmp_path / "cells" / "index.json").write_bytes(b"\x00\x00")
    capsys.readouterr()
    run_sweep(_config(["all", 2]), MemorySource(lengths=(4,)), tmp_path, **QUIET)
    err = capsys.readouterr().err
    assert f"{tmp_path / 'run.json'} is damaged" in err and "index.json is damaged" in err
    assert json.loads((tmp_path / "run.json").read_text())["sweep"]["state"] == "finished"
    assert len(json.loads((tmp_path / "cells" / "index.json").read_text())) == 2
    assert len(read_records(tmp_path)) == 2


def test_the_docs_tooling_refuses_a_damaged_committed_records_file(tmp_path):
    from tools.doc_sources import read_source
    from vis_bench.errors import InputError

    append_record(tmp_path / "run", {"key": "a", "status": "ok"})
    with open(tmp_path / "run" / RECORDS_FILE, "a") as handle:
        handle.write('{"key": "b", "sta')
    with pytest.raises(InputError, match="records.jsonl: line 2 is no whole record"):
        read_source(tmp_path, f"run/{RECORDS_FILE}")
