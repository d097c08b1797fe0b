"""A config as users write it: YAML merge keys (`<<: *entry`) read as YAML defines them (a key
written twice is still refused), `~` and environment variables in every path field expanded (an
unset variable named with its field), and a `max_rounds` below `rounds` refused, not ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vis_bench.cli import main
from vis_bench.config import load_config
from vis_bench.errors import InputError
from vis_bench.train.config import load_train_config

MERGED = """\
name: merged
dataset: {kind: synthetic, videos: 2}
methods:
  - &tiny
    name: minvis
    checkpoint: minvis_tiny.pth
    label_space: synthetic
    options: {min_size_test: 128}
  - <<: *tiny
    name: mask2former-vis
    checkpoint: mask2former_vis_tiny.pth
"""


def test_merge_keys_give_the_anchors_keys_under_the_entrys_own(tmp_path):
    path = tmp_path / "merged.yaml"
    path.write_text(MERGED)
    first, second = load_config(path).methods
    assert (second.name, second.checkpoint) == ("mask2former-vis", "mask2former_vis_tiny.pth")
    assert second.label_space == "synthetic" and second.options == {"min_size_test": 128}
    assert first.name == "minvis"


def test_a_list_of_merges_and_a_repeated_key_beside_a_merge(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(
        "name: two\n"
        "dataset: {kind: synthetic}\n"
        "methods:\n"
        "  - &a {name: minvis, label_space: synthetic}\n"
        "  - &b {name: ifc, label: from b}\n"
        "  - <<: [*b, *a]\n"  # the first mapping listed wins a key both give
    )
    third = load_config(path).methods[2]
    assert (third.name, third.label, third.label_space) == ("ifc", "from b", "synthetic")
    path.write_text(MERGED.replace("    checkpoint: mask2former", "    name: x\n    checkpoint: m"))
    with pytest.raises(InputError, match="key 'name' given twice"):
        load_config(path)


def test_anchors_kept_under_an_x_key_are_no_setting(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "x-tiny: &tiny {label_space: synthetic, checkpoint_strict: false}\n"
        "name: anchors\ndataset: {kind: synthetic}\n"
        "methods:\n  - <<: *tiny\n    name: minvis\n"
    )
    config = load_config(path)
    assert config.methods[0].label_space == "synthetic" and not config.methods[0].checkpoint_strict
    assert "x-tiny" not in config.to_dict()
    # under any other unknown key the mapping is an error that says where anchors go
    path.write_text(path.read_text().replace("x-tiny", "defaults"))
    with pytest.raises(InputError, match="starting with x-, e.g. x-defaults") as caught:
        load_config(path)
    assert caught.value.field == "defaults"


def test_a_config_path_argument_with_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "merged.yaml").write_text(MERGED)
    assert load_config("~/merged.yaml").name == "merged"


def _synth_config(tmp_path: Path, **dataset: str) -> Path:
    data = {
        "name": "paths",
        "dataset": {"kind": "synth", **dataset},
        "methods": [{"name": "minvis", "checkpoint": "minvis_tiny.pth"}],
        "output": "$RUNS/out",
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_home_and_environment_variables_in_paths_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RUNS", str(tmp_path / "runs"))
    path = _synth_config(
        tmp_path, annotations="~/data/ovis/valid.json", frames="${DATA}/frames", cache_dir="~/c"
    )
    config = load_config(path)
    assert config.dataset.annotations == str(tmp_path / "home/data/ovis/valid.json")
    assert config.dataset.frames == str(tmp_path / "data/frames")
    assert config.dataset.cache_dir == str(tmp_path / "home/c")
    assert config.output == str(tmp_path / "runs/out")
    # a --set path the same way, relative to nothing but the variable
    config = load_config(path, ["dataset.frames=$DATA/other", "methods.0.checkpoint=~/m.pth"])
    assert config.dataset.frames == str(tmp_path / "data/other")
    assert config.methods[0].checkpoint == str(tmp_path / "home/m.pth")


def test_an_unset_variable_names_the_field_and_the_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("OVIS_ROOT", raising=False)
    path = _synth_config(tmp_path, annotations="$OVIS_ROOT/valid.json", frames="/f")
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert caught.value.field == "dataset.annotations" and caught.value.path == str(path)
    assert "environment variable OVIS_ROOT, which is not set" in str(caught.value)
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "OVIS_ROOT" in err and "Traceback" not in err
    # the flag that wrote it is named instead of the file
    with pytest.raises(InputError) as caught:
        load_config(path, ["dataset.annotations=${OVIS_ROOT}/a.json"])
    assert caught.value.field == "--set dataset.annotations=${OVIS_ROOT}/a.json"


def test_an_expanded_synth_folder_that_is_missing_says_how_to_write_it(tmp_path, monkeypatch):
    from vis_bench.inference.sources import open_source

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RUNS", str(tmp_path / "runs"))
    path = _synth_config(tmp_path, annotations="~/synth/valid.json", frames="~/synth/frames")
    config = load_config(path)
    with pytest.raises(InputError) as caught:
        open_source(config.dataset, str(path))
    message = str(caught.value)
    assert str(tmp_path / "synth/valid.json") in message and "~" not in message
    assert "run_bench.py synth" in message and "download" not in message


def test_a_training_configs_paths_are_expanded_too(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    init = tmp_path / "init.pth"
    init.write_bytes(b"")
    path = tmp_path / "train.yaml"
    path.write_text(
        "method: minvis\ndataset: {kind: synthetic}\n"
        "init_checkpoint: ~/init.pth\noutput: ~/out/model.pth\n"
    )
    config = load_train_config(path)
    assert config.init_checkpoint == str(init) and config.output == str(tmp_path / "out/model.pth")


@pytest.mark.parametrize("overrides", [["measure.max_rounds=2"], ["measure.rounds=9"]])
def test_max_rounds_below_rounds_is_refused_naming_both(tmp_path, overrides):
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: r\ndataset: {kind: synthetic}\nmethods: [minvis]\n"
        "measure: {rounds: 3, max_rounds: 8}\n"
    )
    with pytest.raises(InputError) as caught:
        load_config(path, overrides)
    message = str(caught.value)
    assert "measure.max_rounds" in message and "measure.rounds" in message
    assert "set measure.max_rounds >=" in message  # the fix
    # the default cap under a larger `rounds` is no conflict: the user set no cap
    path.write_text("name: r\ndataset: {kind: synthetic}\nmethods: [minvis]\n")
    assert load_config(path, ["measure.rounds=10"]).measure.rounds == 10
