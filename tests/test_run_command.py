"""The `run` command end to end on a tiny synthetic dataset with the toy method."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.cli import main
from vis_bench.records.store import read_records

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def tiny_config(tmp_path):
    config = {
        "name": "tiny",
        "dataset": {
            "kind": "synthetic",
            "videos": 3,
            "seed": 3,
            "min_frames": 5,
            "max_frames": 7,
            "cache_dir": str(tmp_path / "cache"),
        },
        "methods": [{"name": "toy", "options": {"label": 2}}],
        "sweep": {"clip_length": ["all", 3], "resolution": [64]},
        "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1},
        "output": str(tmp_path / "runs"),
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_run_writes_records_reports_and_scores(tiny_config, tmp_path, capsys):
    assert main(["run", "--config", str(tiny_config)]) == 0
    out = capsys.readouterr().out
    run_dir = tmp_path / "runs" / "tiny"
    records = read_records(run_dir)
    assert [r["status"] for r in records] == ["ok", "ok"]
    for record in records:
        assert 0.0 <= record["AP"] <= 1.0
        assert set(record) >= {"AP50", "AR1", "AR10", "fps_end_to_end", "gmacs_per_frame", "params"}
        results = json.loads(open(record["results_path"]).read())
        assert len(results) >= 3  # one toy track per video at least
        # intervals (measure.bootstrap, default 1000) and the matching paired reports need
        low, high = record["AP_ci"]
        assert low <= record["AP"] <= high
        assert record["bootstrap"]["replicates"] == 1000
        assert Path(record["video_matches_path"]).parent == Path(record["results_path"]).parent
        assert Path(record["bootstrap"]["values_path"]).is_file()
    assert (run_dir / "leaderboard.md").is_file()
    assert (run_dir / "tables.md").is_file()
    assert "| toy" in out and "random weights" in out
    # a second run skips both cells
    assert main(["run", "--config", str(tiny_config)]) == 0
    assert "2 of 2 cells already finished" in capsys.readouterr().out
    assert len(read_records(run_dir)) == 2


def test_run_reports_missing_real_dataset(tmp_path, capsys):
    config = tmp_path / "real.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "dataset": {
                    "kind": "ytvis2019",
                    "annotations": str(tmp_path / "nope.json"),
                    "frames": str(tmp_path / "frames"),
                },
                "methods": ["toy"],
            }
        )
    )
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "dataset not found at" in err and "dataset.annotations" in err


@pytest.mark.slow
@pytest.mark.heavy
def test_default_config_end_to_end_on_a_tiny_set(tmp_path, capsys, monkeypatch):
    """configs/default.yaml (the shipped tiny models), shrunk to one short video."""
    monkeypatch.chdir(REPO)  # the config names its checkpoints relative to the repository
    overrides = [
        "dataset.videos=1",
        "dataset.min_frames=4",
        "dataset.max_frames=4",
        f"dataset.cache_dir={tmp_path / 'cache'}",
        "sweep.resolution=[144]",  # SAM 3 runs only at its square side
        "sweep.clip_length=[all,2]",
        "measure.repeats=1",
        "measure.warmup=0",
        # what the run writes is checked here, not how precise its FPS is (quick_rounds.py)
        "measure.rounds=1",
        "measure.round_frames=4",
        "measure.precision=0",
        "measure.round_seconds=0",
        f"output={tmp_path / 'runs'}",
    ]
    args = ["run"]
    for item in overrides:
        args += ["--set", item]
    assert main(args) == 0
    out = capsys.readouterr().out
    records = read_records(tmp_path / "runs" / "default")
    methods = {r["method"] for r in records}
    assert methods == {
        "seqformer",
        "ifc",
        "mssts",
        "mask2former-vis",
        "minvis",
        "videomt",
        "dvis-plus-online",
        "dvis-plus-offline",
        "dvis-daq-online",
        "dvis-daq-offline",
        "sam3",
    }
    # SAM 3's entry keeps whole videos only (its tracks are the same at any clip length)
    assert sorted(r["clip_length"] for r in records if r["method"] == "sam3") == ["all"]
    failed = [(r["method"], r.get("error")) for r in records if r["status"] != "ok"]
    assert not failed
    assert "random weights" not in out
    assert all(r["checkpoint"].endswith("_tiny.pth") for r in records)
    board = (tmp_path / "runs" / "default" / "leaderboard.md").read_text()
    assert "| seqformer" in board.replace("|   ", "| ") or "seqformer" in board
    # the run's HTML report and `show` draw the trained models' predictions
    page = (tmp_path / "runs" / "default" / "report.html").read_text()
    assert all(f'id="method-{m}"' in page for m in methods) and page.count('class="video"') == 1
    assert "[ifc](report.html#method-ifc)" in board
    out = tmp_path / "v.gif"
    run_dir = str(tmp_path / "runs" / "default")
    assert main(["show", "--run", run_dir, "--video", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert all(f"{m} T=" in printed for m in methods)
