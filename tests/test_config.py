"""Config errors name the key and the file; overrides apply before validation."""

from __future__ import annotations

import pytest
import yaml

from vis_bench.config import load_config
from vis_bench.errors import InputError

BASE = {
    "name": "t",
    "dataset": {"kind": "synthetic", "videos": 2},
    "methods": [{"name": "toy"}],
    "sweep": {"clip_length": ["all", 5]},
}


def write(tmp_path, data, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_valid_config_loads(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert config.sweep.clip_length == ["all", 5]
    assert config.methods[0].name == "toy"
    assert config.dataset.videos == 2
    assert len(config.config_hash()) == 12


def test_unknown_key_names_key_and_file(tmp_path):
    data = {**BASE, "sweep": {"clip_lenght": [5]}}
    path = write(tmp_path, data)
    with pytest.raises(InputError) as err:
        load_config(path)
    assert "sweep.clip_lenght" in str(err.value)
    assert str(path) in str(err.value)
    assert "clip_length" in str(err.value)  # the known keys are listed


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(InputError, match="'metods'"):
        load_config(write(tmp_path, {**BASE, "metods": []}))


def test_wrong_type_names_field(tmp_path):
    data = {**BASE, "measure": {"repeats": "three"}}
    with pytest.raises(InputError, match="measure.repeats"):
        load_config(write(tmp_path, data))


def test_bad_axis_values(tmp_path):
    with pytest.raises(InputError, match="sweep.clip_length"):
        load_config(write(tmp_path, {**BASE, "sweep": {"clip_length": [0]}}))
    with pytest.raises(InputError, match="sweep.dtype"):
        load_config(write(tmp_path, {**BASE, "sweep": {"dtype": ["fp8"]}}))
    with pytest.raises(InputError, match="sweep.device"):
        load_config(write(tmp_path, {**BASE, "sweep": {"device": ["tpu"]}}))


def test_real_dataset_needs_paths(tmp_path):
    data = {**BASE, "dataset": {"kind": "ytvis2019"}}
    with pytest.raises(InputError, match="dataset.annotations"):
        load_config(write(tmp_path, data))


def test_methods_required_and_named(tmp_path):
    with pytest.raises(InputError, match="methods"):
        load_config(write(tmp_path, {**BASE, "methods": []}))
    with pytest.raises(InputError, match=r"methods\[0\]"):
        load_config(write(tmp_path, {**BASE, "methods": [{"checkpoint": "x"}]}))


def test_overrides(tmp_path):
    path = write(tmp_path, BASE)
    config = load_config(
        path, ["sweep.clip_length=[3]", "dataset.videos=4", "methods.0.options={label: 2}"]
    )
    assert config.sweep.clip_length == [3]
    assert config.dataset.videos == 4
    assert config.methods[0].options == {"label": 2}
    with pytest.raises(InputError, match="--set"):
        load_config(path, ["novalue"])


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config(bad)


def test_bootstrap_replicates_default_and_check(tmp_path):
    assert load_config(write(tmp_path, BASE)).measure.bootstrap == 1000
    off = load_config(write(tmp_path, {**BASE, "measure": {"bootstrap": 0}}))
    assert off.measure.bootstrap == 0
    with pytest.raises(InputError, match="measure.bootstrap"):
        load_config(write(tmp_path, {**BASE, "measure": {"bootstrap": -5}}))
