"""Every command-line mistake a newcomer makes gets an error that names the problem and the fix,
never a traceback, and a run that loses cells says so in its exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.cli import main
from vis_bench.formats.checkpoints import save_project_checkpoint

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def config(tmp_path):
    def write(methods, **extra):
        data = {
            "name": "mistakes",
            "dataset": {
                "kind": "synthetic",
                "videos": 2,
                "min_frames": 3,
                "max_frames": 4,
                "cache_dir": str(tmp_path / "cache"),
            },
            "methods": methods,
            "sweep": {"clip_length": ["all"], "resolution": [32]},
            "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1, "flops": False},
            "output": str(tmp_path / "runs"),
            **extra,
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return write


def _error(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err


def test_an_index_past_the_methods_list(config, capsys):
    path = config([{"name": "toy"}, {"name": "toy", "options": {"label": 2}}])
    assert main(["run", "--config", str(path), "--set", "methods.5.checkpoint=x.pth"]) == 2
    err = _error(capsys)
    assert "methods has 2 entries, so index 5 does not exist" in err


def test_setting_a_key_of_a_method_given_by_name(config, capsys, tmp_path):
    path = config(["toy"])
    missing = tmp_path / "nope.pth"
    assert main(["run", "--config", str(path), "--set", f"methods.0.checkpoint={missing}"]) == 2
    err = _error(capsys)  # the flag the user typed, not the resolved config's field
    assert f"'--set methods.0.checkpoint={missing}'" in err and "checkpoint not found" in err
    assert str(path) not in err


def test_an_unknown_method_is_named_with_its_index(config, capsys):
    path = config([{"name": "toy"}, {"name": "seqformr"}])
    assert main(["run", "--config", str(path)]) == 2
    err = _error(capsys)
    assert "methods[1].name" in err and "unknown method 'seqformr'" in err and "seqformer" in err


def test_a_missing_checkpoint_is_found_before_any_cell_runs(config, capsys, tmp_path):
    path = config([{"name": "toy"}, {"name": "toy", "checkpoint": str(tmp_path / "gone.pth")}])
    assert main(["run", "--config", str(path)]) == 2
    assert "methods[1].checkpoint" in _error(capsys)
    assert not (tmp_path / "runs" / "mistakes" / "records.jsonl").exists()  # nothing ran


def test_a_checkpoint_of_another_method_is_found_at_load(config, capsys, tmp_path):
    weights = tmp_path / "ifc.pth"
    save_project_checkpoint({"w": torch.zeros(1)}, weights, "ifc", {})
    path = config([{"name": "toy"}, {"name": "toy", "checkpoint": str(weights)}])
    assert main(["run", "--config", str(path)]) == 2
    err = _error(capsys)
    assert "methods[1].checkpoint" in err and "checkpoint of method 'ifc', not 'toy'" in err


def test_a_release_checkpoint_that_looks_like_another_method(config, capsys, tmp_path):
    from vis_bench.methods.ifc.plugin import IFCPlugin

    small = {"hidden_dim": 32, "dim_feedforward": 32, "num_queries": 3, "with_backbone": False}
    weights = tmp_path / "release.pth"
    torch.save({"model": IFCPlugin.build(small).model.state_dict()}, weights)
    path = config([{"name": "seqformer", "checkpoint": str(weights)}])
    assert main(["run", "--config", str(path)]) == 2
    assert "looks like a ifc checkpoint, not a seqformer one" in _error(capsys)


def test_a_bad_option_names_the_method_entry(config, capsys):
    path = config([{"name": "toy", "options": {"labl": 3}}])
    assert main(["run", "--config", str(path)]) == 2
    assert "methods[0].options.labl" in _error(capsys)


@pytest.mark.slow
def test_a_run_with_a_failed_cell_exits_1_and_shows_the_reason(config, capsys):
    path = config([{"name": "toy"}, {"name": "toy", "options": {"fail_build": True}}])
    assert main(["run", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED: RuntimeError: toy method asked to fail" in out
    assert "1 of 2 cells failed" in out


@pytest.mark.slow
def test_a_scalar_where_a_list_is_expected(config):
    path = config([{"name": "toy"}])
    assert main(["run", "--config", str(path), "--set", "sweep.clip_length=3"]) == 0


@pytest.mark.slow
def test_a_run_folder_of_another_dataset_is_refused_with_the_way_out(config, capsys, tmp_path):
    path = config([{"name": "toy"}])
    assert main(["run", "--config", str(path)]) == 0
    capsys.readouterr()
    assert main(["run", "--config", str(path), "--set", "dataset.videos=1"]) == 2
    err = _error(capsys)
    assert "videos 2 -> 1" in err and "--run-dir" in err


def test_parity_without_a_fixture_says_where_the_fixtures_are(capsys):
    """A method's declaration names no fixture path: the user passes it, and is told where."""
    assert main(["parity", "--method", "minvis"]) == 2
    err = _error(capsys)
    assert "--fixture" in err and "tests/fixtures/golden/<folder>/public" in err


def test_parity_with_a_folder_that_is_no_fixture(capsys, tmp_path):
    assert main(["parity", "--method", "minvis", "--fixture", str(tmp_path)]) == 2
    err = _error(capsys)
    assert str(tmp_path) in err and "meta.json is missing" in err


def test_a_file_that_is_no_checkpoint_is_called_so(tmp_path, capsys):
    text = tmp_path / "notes.pth"
    text.write_text("these are notes, not weights\n")
    assert main(["check-checkpoint", str(text)]) == 2
    err = _error(capsys)
    assert f"{text}: not a checkpoint" in err
    assert "weights_only" not in err and "issue" not in err  # torch's advice does not apply


def test_a_folder_given_for_a_checkpoint_or_a_config_is_called_a_folder(tmp_path, capsys):
    assert main(["check-checkpoint", str(tmp_path)]) == 2
    assert f"{tmp_path} is a folder, not a checkpoint file" in _error(capsys)
    assert main(["run", "--config", str(tmp_path)]) == 2
    assert f"{tmp_path}: is a folder, not a config file" in _error(capsys)
