"""A checkpoint stored as the changes over a base file (formats/checkpoints.py, "base"): what a
training stage that freezes the earlier stages writes, so the shipped DVIS++ files hold each
stage's own weights once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import (
    CheckpointError,
    open_checkpoint,
    read_checkpoint,
    save_project_checkpoint,
)
from vis_bench.train.config import parse_train_config


def _weights(seed: int, keys: list[str]) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {key: torch.randn(4, 4, generator=generator) for key in keys}


def _stages(folder: Path) -> tuple[Path, Path, Path, dict, dict, dict]:
    """segmenter -> tracker (over it) -> refiner (over the tracker), as DVIS++ trains them."""
    segmenter = _weights(0, ["seg.a", "seg.b", "tracker.w"])
    tracker = {**segmenter, "tracker.w": torch.zeros(4, 4)}
    refiner = {**tracker, "refiner.w": torch.ones(4, 4)}
    paths = folder / "segmenter.pth", folder / "online.pth", folder / "offline.pth"
    save_project_checkpoint(segmenter, paths[0], "m", {"stage": "segmenter"}, half=True)
    save_project_checkpoint(tracker, paths[1], "m", {"stage": "tracker"}, half=True, base=paths[0])
    save_project_checkpoint(refiner, paths[2], "n", {"stage": "refiner"}, half=True, base=paths[1])
    return (*paths, segmenter, tracker, refiner)


def test_a_stage_stores_only_what_it_changed_and_loads_as_the_whole_model(tmp_path):
    segmenter_path, online, offline, _, tracker, refiner = _stages(tmp_path)
    stored = read_checkpoint(offline)
    assert set(stored["state_dict"]) == {"refiner.w"}
    assert stored["base"]["file"] == "online.pth" and len(stored["base"]["sha256"]) == 64
    assert set(read_checkpoint(online)["state_dict"]) == {"tracker.w"}
    contents = open_checkpoint(offline)
    assert contents.method == "n" and contents.config == {"stage": "refiner"}
    assert contents.bases == [str(online), str(segmenter_path)]
    assert contents.state_dict.keys() == refiner.keys()
    for key, value in refiner.items():  # float16 on disk, as the full file would hold them
        assert torch.equal(contents.state_dict[key], value.half()), key
    assert torch.equal(open_checkpoint(online).state_dict["tracker.w"], tracker["tracker.w"].half())


def test_keys_of_the_base_the_model_has_not_are_left_out(tmp_path):
    base = tmp_path / "base.pth"
    save_project_checkpoint(_weights(0, ["a", "b"]), base, "m", {})
    save_project_checkpoint(_weights(0, ["a"]), tmp_path / "top.pth", "m", {}, base=base)
    assert read_checkpoint(tmp_path / "top.pth")["base"]["removed"] == ["b"]
    assert set(open_checkpoint(tmp_path / "top.pth").state_dict) == {"a"}


def test_a_missing_or_changed_base_is_an_error_naming_the_file_and_the_fix(tmp_path):
    segmenter_path, online, offline, *_ = _stages(tmp_path)
    elsewhere = tmp_path / "copied"
    elsewhere.mkdir()
    shutil.copy(offline, elsewhere / "offline.pth")
    with pytest.raises(CheckpointError, match="online.pth, which is not beside it") as missing:
        open_checkpoint(elsewhere / "offline.pth")
    assert missing.value.field == "base.file" and "same folder" in str(missing.value)
    save_project_checkpoint(_weights(5, ["seg.a"]), segmenter_path, "m", {})  # retrained
    with pytest.raises(CheckpointError, match="not the file this checkpoint was written over"):
        open_checkpoint(offline)  # the chain is checked file by file


def test_a_stage_is_written_beside_its_base(tmp_path):
    base = tmp_path / "base.pth"
    save_project_checkpoint(_weights(0, ["a"]), base, "m", {})
    (tmp_path / "sub").mkdir()
    with pytest.raises(CheckpointError, match="in the base's folder"):
        save_project_checkpoint(
            _weights(1, ["a"]), tmp_path / "sub" / "top.pth", "m", {}, base=base
        )


def test_a_training_config_storing_changes_needs_its_init_file_beside_the_output(tmp_path):
    base = tmp_path / "init.pth"
    save_project_checkpoint(_weights(0, ["a"]), base, "m", {})
    data = {
        "name": "t",
        "method": "toy",
        "dataset": {"kind": "synthetic"},
        "changes_over_init": True,
        "output": str(tmp_path / "out.pth"),
    }
    with pytest.raises(InputError, match="name that file") as no_init:
        parse_train_config(dict(data), "t.yaml")
    assert no_init.value.field == "changes_over_init"
    elsewhere = {**data, "init_checkpoint": str(base), "output": str(tmp_path / "x" / "o.pth")}
    with pytest.raises(InputError, match="written in that file's folder"):
        parse_train_config(elsewhere, "t.yaml")
    config = parse_train_config({**data, "init_checkpoint": str(base)}, "t.yaml")
    plain = parse_train_config({**data, "init_checkpoint": str(base), "changes_over_init": False})
    assert config.changes_over_init and config.config_hash() == plain.config_hash()


def test_a_tensor_registered_under_two_names_is_stored_once(tmp_path):
    shared = torch.nn.Linear(64, 64)
    model = torch.nn.ModuleDict({"head": shared, "decoder": torch.nn.ModuleDict({"head": shared})})
    save_project_checkpoint(model.state_dict(), tmp_path / "tied.pth", "m", {}, half=True)
    save_project_checkpoint(
        {k: v.clone() for k, v in model.state_dict().items()}, tmp_path / "copies.pth", "m", {}
    )
    tied = open_checkpoint(tmp_path / "tied.pth").state_dict
    assert torch.equal(tied["head.weight"], shared.weight.detach().half())
    assert torch.equal(tied["decoder.head.weight"], tied["head.weight"])
    fp32_copies = (tmp_path / "copies.pth").stat().st_size
    assert (tmp_path / "tied.pth").stat().st_size < fp32_copies / 3  # half the bytes, once
