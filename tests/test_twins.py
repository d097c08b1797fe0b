"""Twins: one method listed twice with the same checkpoint and options (an A/A check of the
timing, or a checkpoint re-trained into the same path) gives two cells with two keys, each
record names its entry, every table shows both rows, and `measure.twins` runs every cell twice."""

from __future__ import annotations

import json

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.report.leaderboard import leaderboard_markdown
from vis_bench.report.record_set import RecordSet
from vis_bench.report.tables_document import tables_markdown
from vis_bench.sweep import run_sweep
from vis_bench.sweep.cells import distinct_keys, expand_cells
from vis_bench.sweep.methods import resolve_methods


def _config(methods: list[dict], twins: bool = False):
    return parse_config(
        {
            "name": "twins",
            "dataset": {"kind": "synthetic"},
            "methods": methods,
            "sweep": {"clip_length": ["all"], "resolution": [32]},
            "measure": {"warmup": 0, "bootstrap": 0, "rounds": 2, "twins": twins, **QUICK_ROUNDS},
        }
    )


def test_twin_entries_get_distinct_keys_named_by_label_or_place():
    labelled = _config([{"name": "toy", "label": "A"}, {"name": "toy", "label": "B"}])
    entries = resolve_methods(labelled)
    assert [e.entry for e in entries] == ["A", "B"]
    unlabelled = _config([{"name": "toy"}, {"name": "toy"}, {"name": "toy", "options": {}}])
    assert [e.entry for e in resolve_methods(unlabelled)] == [
        "methods[0]", "methods[1]", "methods[2]",
    ]  # fmt: skip
    for config in (labelled, unlabelled):
        cells = expand_cells(config, resolve_methods(config))
        keys = [c.key("d") for c in cells]
        assert len(set(keys)) == len(keys)
        distinct_keys(cells, "d")  # no error


def test_a_lone_entry_keeps_the_key_it_always_had():
    (entry,) = resolve_methods(_config([{"name": "toy", "label": "only"}]))
    assert entry.entry is None
    (cell,) = expand_cells(_config([{"name": "toy", "label": "only"}]), [entry])
    assert "entry" not in cell.identity("d") and "twin" not in cell.identity("d")


def test_two_cells_with_one_key_are_refused_naming_both_entries():
    config = _config([{"name": "toy"}])
    (cell,) = expand_cells(config, resolve_methods(config))
    with pytest.raises(InputError, match=r"methods\[0\] and methods\[0\] give the same cell"):
        distinct_keys([cell, cell], "d")


@pytest.fixture(scope="module")
def twin_run(tmp_path_factory):
    config = _config([{"name": "toy", "label": "A"}, {"name": "toy", "label": "B"}], twins=True)
    folder = tmp_path_factory.mktemp("run")
    made = run_sweep(config, MemorySource(), folder, isolate=False, log=lambda s: None)
    return folder, made


def test_a_key_never_appears_twice_in_records_jsonl(twin_run):
    folder, made = twin_run
    lines = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    keys = [line["key"] for line in lines]
    assert len(keys) == 4 and len(set(keys)) == 4
    assert sorted((r["entry"], r["twin"]) for r in made) == [
        ("A", 1), ("A", 2), ("B", 1), ("B", 2),
    ]  # fmt: skip


def test_every_table_and_the_leaderboard_show_each_twin(twin_run):
    folder, _ = twin_run
    records = RecordSet.read([folder])
    tables = tables_markdown(records, "twins")
    board = leaderboard_markdown(records)
    for name in ("toy (A) twin 1", "toy (A) twin 2", "toy (B) twin 1", "toy (B) twin 2"):
        assert name in tables
        assert name in board
