"""Checkpoint loading: the authors' release format, the project's format, and clear failures."""

from __future__ import annotations

import argparse
import pickle

import pytest
import torch

from vis_bench.formats.checkpoints import CheckpointError, save_project_checkpoint
from vis_bench.methods.seqformer.plugin import SeqFormerPlugin

TINY = {
    "backbone": None,
    "hidden_dim": 64,
    "dim_feedforward": 64,
    "enc_layers": 1,
    "dec_layers": 2,
    "num_queries": 5,
}


class NotAllowed:
    """A class weights_only loading must refuse to unpickle."""


pytestmark = pytest.mark.usefixtures("one_thread")


def _plugin(seed: int) -> SeqFormerPlugin:
    torch.manual_seed(seed)
    return SeqFormerPlugin.build(dict(TINY))


def _same_weights(a: SeqFormerPlugin, b: SeqFormerPlugin) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_release_training_checkpoint_with_namespace_loads_weights_only(tmp_path):
    source, target = _plugin(0), _plugin(1)
    path = tmp_path / "checkpoint.pth"
    torch.save(
        {
            "model": source.model.state_dict(),
            "optimizer": {},
            "lr_scheduler": {},
            "epoch": 11,
            "args": argparse.Namespace(lr=2e-4, backbone="resnet50"),
        },
        path,
    )
    # a plain weights_only load refuses the Namespace: the allow-list is what makes it work
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    report = target.load_checkpoint(str(path))
    assert report.format == "release" and report.clean
    assert _same_weights(source, target)


def test_project_format_round_trip_and_method_check(tmp_path):
    source, target = _plugin(0), _plugin(1)
    path = tmp_path / "seqformer.pt"
    save_project_checkpoint(source.model.state_dict(), path, "seqformer", TINY)
    assert target.load_checkpoint(str(path)).format == "vis-bench"
    assert _same_weights(source, target)
    save_project_checkpoint(source.model.state_dict(), path, "ifc", TINY)
    with pytest.raises(CheckpointError, match="'ifc'"):
        target.load_checkpoint(str(path))


def test_single_copy_of_the_box_heads_is_enough(tmp_path):
    source, target = _plugin(0), _plugin(1)
    state = {
        k: v
        for k, v in source.model.state_dict().items()
        if not k.startswith("detr.transformer.decoder.bbox_embed.")
    }
    torch.save({"model": state}, tmp_path / "c.pth")
    assert target.load_checkpoint(str(tmp_path / "c.pth")).clean
    assert _same_weights(source, target)


def test_missing_and_unexpected_keys_are_reported(tmp_path):
    target = _plugin(1)
    state = _plugin(0).model.state_dict()
    del state["mask_head.lay1.bias"]
    state["detr.extra_head.weight"] = torch.zeros(3)
    path = tmp_path / "c.pth"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as err:
        target.load_checkpoint(str(path))
    message = str(err.value)
    assert "mask_head.lay1.bias" in message and "detr.extra_head.weight" in message
    assert str(path) in message
    report = target.load_checkpoint(str(path), strict=False)
    assert report.missing == ["mask_head.lay1.bias"]
    assert report.unexpected == ["detr.extra_head.weight"]
    assert "1 key(s) missing from the file: mask_head.lay1.bias" in report.summary()


def test_shape_mismatch_names_key_shapes_and_file(tmp_path):
    target = _plugin(1)
    state = _plugin(0).model.state_dict()
    state["detr.query_embed.weight"] = torch.zeros(300, 512)
    path = tmp_path / "r50.pth"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as err:
        target.load_checkpoint(str(path))
    message = str(err.value)
    for part in ("detr.query_embed.weight", "(300, 512)", "(5, 128)", str(path)):
        assert part in message
    # the opt-out loads everything else and leaves the mis-shaped key as built
    report = target.load_checkpoint(str(path), strict=False)
    assert report.partial and report.mismatched[0].startswith("detr.query_embed.weight")


def test_arbitrary_objects_and_unknown_layouts_are_refused(tmp_path):
    target = _plugin(1)
    path = tmp_path / "evil.pth"
    torch.save({"model": target.model.state_dict(), "x": NotAllowed()}, path)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        target.load_checkpoint(str(path))
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="unrecognised checkpoint layout"):
        target.load_checkpoint(str(path))
    with pytest.raises(CheckpointError, match="not found"):
        target.load_checkpoint(str(tmp_path / "missing.pth"))
