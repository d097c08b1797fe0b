"""Configs naming a split by its manifest: checked when loaded, opened by the dataset source, and
kept apart from other data by the manifest's sha256 in the dataset identity."""

from __future__ import annotations

import json

import pytest

from tests.helpers.vis_cases import make_gt, public
from vis_bench.config import parse_config
from vis_bench.data.holdout import write_split
from vis_bench.errors import InputError
from vis_bench.inference.sources import open_source


@pytest.fixture
def split_dir(tmp_path):
    source = tmp_path / "train_full.json"
    data = public(make_gt(n_videos=40, seed=1, lengths=(2, 3)))
    source.write_text(json.dumps(data))
    for video in data["videos"]:  # opening checks that the frames exist (it decodes none)
        for name in video["file_names"]:
            (tmp_path / "frames" / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "frames" / name).touch()
    write_split(source, 0.25, 0, tmp_path / "split")
    return tmp_path / "split"


def _config(split_dir, **dataset):
    data = {
        "kind": "ytvis2019",
        "split": str(split_dir / "split_manifest.json"),
        "frames": str(split_dir.parent / "frames"),
        **dataset,
    }
    return parse_config({"name": "s", "dataset": data, "methods": ["ifc"]}, "s.yaml")


def test_a_config_runs_on_the_part_its_manifest_names(split_dir):
    manifest = json.loads((split_dir / "split_manifest.json").read_text())
    held = open_source(_config(split_dir).dataset)
    assert held.gt_path == split_dir / "holdout.json"
    assert held.identity["split"] == manifest["outputs"]["holdout"]["sha256"]
    assert held.identity["split_part"] == "holdout"
    assert held.identity["split_input"] == manifest["input"]["sha256"]
    assert len(held.videos()) == manifest["outputs"]["holdout"]["videos"]
    assert "of split" in held.label()
    # the manifest's folder works too; the other part is another dataset
    train = open_source(_config(split_dir.parent / "split", split_part="train").dataset)
    assert train.identity["split"] == manifest["outputs"]["train"]["sha256"]
    assert train.dataset_id != held.dataset_id


def test_split_configs_are_checked_when_loaded(split_dir):
    with pytest.raises(InputError, match="either dataset.annotations or dataset.split"):
        _config(split_dir, annotations=str(split_dir / "holdout.json"))
    with pytest.raises(InputError, match="split_part"):
        _config(split_dir, split_part="valid")
    with pytest.raises(InputError, match="real dataset"):
        _config(split_dir, kind="synthetic")
    with pytest.raises(InputError, match="s.yaml.*dataset.split.*file not found"):
        _config(split_dir, split=str(split_dir / "nope.json"))
    held = split_dir / "holdout.json"
    held.write_text(held.read_text().replace('"videos"', '"videos" ', 1))
    with pytest.raises(InputError, match="not the holdout part"):
        _config(split_dir)
    _config(split_dir, split_part="train")  # the untouched part still loads


def test_a_stratified_split_is_another_dataset_and_old_manifests_still_load(split_dir):
    default = open_source(_config(split_dir).dataset)
    stratified = split_dir.parent / "stratified"
    write_split(split_dir.parent / "train_full.json", 0.25, 0, stratified, stratify=True)
    held = open_source(_config(stratified).dataset)
    assert held.identity["split_input"] == default.identity["split_input"]
    assert held.dataset_id != default.dataset_id  # another rule, other videos: never one table
    # a manifest written before the coverage report (version 1) still names its parts
    path = split_dir / "split_manifest.json"
    manifest = json.loads(path.read_text())
    for key in ("stratify", "coverage", "warnings"):
        del manifest[key]
    path.write_text(json.dumps(dict(manifest, version=1), indent=1))
    assert open_source(_config(split_dir).dataset).identity == default.identity
