"""Records describe themselves: each embeds its run's resolved config, so a record copied out of
its run folder still renders in the leaderboard and says which dataset and measure settings made
it; records written before that keep working."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
from tests.helpers.memory_source import MemorySource
from vis_bench.cli import main
from vis_bench.config import parse_config
from vis_bench.records import CellRecord
from vis_bench.records.store import read_records
from vis_bench.report.settings import settings_lines, with_configs
from vis_bench.sweep import run_sweep

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUN = REPO / "results" / "default_run"
#: the committed default run's config hash, as its records name it (its configs/ folder holds
#: that one config, and may hold a user's re-run of another beside it)
DEFAULT_HASH = json.loads((DEFAULT_RUN / "records.jsonl").read_text().splitlines()[0])[
    "config_hash"
]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    config = parse_config(
        {
            "name": "self-describing",
            "dataset": {"kind": "synthetic", "videos": 2, "seed": 3},
            "methods": [{"name": "toy"}],
            "sweep": {"clip_length": ["all"]},
            "measure": {"warmup": 0, "repeats": 2, "threads": 1, "cell_timeout_s": 90.0},
        }
    )
    run_sweep(config, MemorySource(), folder, log=lambda s: None)
    return folder


def _leaderboard(capsys, *args: str) -> str:
    assert main(["leaderboard", *args]) == 0
    return capsys.readouterr().out


def test_a_record_embeds_the_resolved_config_its_hash_names(run_folder):
    (record,) = read_records(run_folder)
    config = record["config"]
    assert config["dataset"]["seed"] == 3 and config["dataset"]["videos"] == 2
    measure = config["measure"]
    assert (measure["warmup"], measure["repeats"], measure["threads"]) == (0, 2, 1)
    assert measure["cell_timeout_s"] == 90.0
    assert parse_config(config).config_hash() == record["config_hash"]
    run_json = json.loads((run_folder / "run.json").read_text())
    assert record["dataset_identity"] == run_json["dataset"]


def test_a_record_copied_alone_renders_and_names_its_settings(run_folder, tmp_path, capsys):
    line = (run_folder / "records.jsonl").read_text().splitlines()[0]
    copied = tmp_path / "elsewhere" / "records.jsonl"
    copied.parent.mkdir()
    copied.write_text(line + "\n")
    in_place = _leaderboard(capsys, str(run_folder))
    alone = _leaderboard(capsys, str(copied))
    assert alone == in_place  # nothing of the run folder beside the record is needed
    assert "| 1 " in alone and "toy" in alone and "memory (2 videos)" in alone
    named = _leaderboard(capsys, str(copied), "--settings")
    assert named.startswith(alone.rstrip("\n"))
    settings = named.split("Settings (from the records):", 1)[1]
    for text in ("seed 3", "videos 2", "warmup 0", "repeats 2", "threads 1", "cell_timeout_s 90.0"):
        assert text in settings, text


def test_older_records_without_a_config_still_render(tmp_path, capsys):
    """Records written before configs were embedded: their folder's configs/ fills in."""
    older = tmp_path / "older"
    shutil.copytree(DEFAULT_RUN / "configs", older / "configs")
    lines = [
        json.dumps({k: v for k, v in r.items() if k != "config"}) + "\n"
        for r in read_records(DEFAULT_RUN)
    ]
    (older / "records.jsonl").write_text("".join(lines))
    assert all("config" not in r for r in read_records(older))
    named = _leaderboard(capsys, str(older), "--settings")
    assert f"config {DEFAULT_HASH} (default): dataset: kind synthetic" in named
    assert "warmup 1, repeats 3, threads -, cell_timeout_s 7200.0" in named
    copied = tmp_path / "records.jsonl"
    shutil.copy(older / "records.jsonl", copied)
    alone = _leaderboard(capsys, str(copied), "--settings")
    assert "| 1 " in alone and f"config {DEFAULT_HASH}: not recorded" in alone


def test_with_configs_keeps_an_embedded_config_and_leaves_records_unchanged(tmp_path):
    embedded = CellRecord.from_json(
        {"config_hash": "abc", "config": {"name": "x", "measure": {"warmup": 4}}}
    )
    old = CellRecord.from_json({"config_hash": DEFAULT_HASH})
    filled = with_configs([embedded, old], DEFAULT_RUN)
    assert filled[0] is embedded and old.config is None and "config" not in old.to_json()
    assert filled[1].config["measure"]["repeats"] == 3 and "config" in filled[1].to_json()
    assert with_configs([old], tmp_path) == [old]
    assert settings_lines(filled)[0] == "config abc (x): dataset: -; measure: warmup 4"
