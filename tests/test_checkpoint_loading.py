"""Checkpoints load strictly for every method through one path; the opt-out is explicit and
recorded."""

from __future__ import annotations

import pytest
import torch

from vis_bench.api.tables import looks_like
from vis_bench.formats.checkpoints import CheckpointError, open_checkpoint, save_project_checkpoint
from vis_bench.methods.ifc.plugin import IFCPlugin
from vis_bench.methods.seqformer.plugin import SeqFormerPlugin

IFC_TINY = {
    "hidden_dim": 64,
    "dim_feedforward": 64,
    "num_queries": 6,
    "enc_layers": 1,
    "dec_layers": 1,
    "with_backbone": False,
}
SEQFORMER_TINY = {
    "backbone": None,
    "hidden_dim": 32,
    "dim_feedforward": 64,
    "enc_layers": 1,
    "dec_layers": 1,
    "num_queries": 5,
}


def _ifc_release(tmp_path, edit=None):
    state = {k: v.clone() for k, v in IFCPlugin.build(IFC_TINY).model.state_dict().items()}
    if edit:
        edit(state)
    path = tmp_path / "ifc_release.pth"
    torch.save({"model": state, "iteration": 5}, path)
    return path


def test_a_clean_release_checkpoint_loads_every_key(tmp_path):
    path = _ifc_release(tmp_path)
    report = IFCPlugin.build(IFC_TINY).load_checkpoint(str(path))
    assert report.clean and not report.partial and report.format == "release"
    assert report.loaded == len(IFCPlugin.build(IFC_TINY).model.state_dict())


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda s: s.pop("detr.query_embed.weight"),
            "1 key(s) missing from the file: detr.query_embed.weight",
        ),
        (
            lambda s: s.__setitem__("detr.extra.weight", torch.zeros(3)),
            "1 key(s) unexpected in the file: detr.extra.weight",
        ),
        (
            lambda s: s.__setitem__("detr.input_proj.weight", torch.zeros(32, 2048, 1, 1)),
            "detr.input_proj.weight (file (32, 2048, 1, 1), model (64, 2048, 1, 1))",
        ),
    ],
    ids=["missing", "unexpected", "shape"],
)
def test_a_mismatching_ifc_checkpoint_is_an_error_naming_file_and_keys(tmp_path, edit, words):
    path = _ifc_release(tmp_path, edit)
    plugin = IFCPlugin.build(IFC_TINY)
    with pytest.raises(CheckpointError) as err:
        plugin.load_checkpoint(str(path))
    message = str(err.value)
    assert str(path) in message and words in message
    assert "checkpoint_strict: false" in message  # the way out is named


def test_a_seqformer_checkpoint_given_to_ifc_says_what_it_looks_like(tmp_path):
    seqformer = SeqFormerPlugin.build(SEQFORMER_TINY)
    path = tmp_path / "seqformer.pth"
    torch.save({"model": seqformer.model.state_dict()}, path)
    assert looks_like(open_checkpoint(path).state_dict) == "seqformer"
    with pytest.raises(CheckpointError, match="this looks like a seqformer checkpoint"):
        IFCPlugin.build(IFC_TINY).load_checkpoint(str(path))


def test_a_project_checkpoint_of_another_method_is_refused(tmp_path):
    path = tmp_path / "p.pth"
    save_project_checkpoint(
        SeqFormerPlugin.build(SEQFORMER_TINY).model.state_dict(), path, "seqformer", {}
    )
    with pytest.raises(CheckpointError, match="is for method 'seqformer', not 'ifc'"):
        IFCPlugin.build(IFC_TINY).load_checkpoint(str(path))


def test_the_opt_out_loads_what_fits_and_says_the_load_was_partial(tmp_path):
    path = _ifc_release(tmp_path, lambda s: s.pop("detr.query_embed.weight"))
    plugin = IFCPlugin.build(IFC_TINY)
    before = plugin.model.detr.query_embed.weight.clone()
    report = plugin.load_checkpoint(str(path), strict=False)
    assert report.partial and report.missing == ["detr.query_embed.weight"]
    assert torch.equal(plugin.model.detr.query_embed.weight, before)  # left as built
    record = report.as_record()
    assert record["partial"] is True and record["missing"] == 1 and record["strict"] is False


def test_keys_a_spec_declares_ignored_are_skipped_and_reported(tmp_path):
    """A method whose authors' loading skips some keys declares them; only those are skipped."""
    import dataclasses

    from vis_bench.api.checkpoints import load_state_dict_strict

    path = _ifc_release(tmp_path, lambda s: s.__setitem__("criterion.aux_buffer", torch.zeros(2)))
    plugin = IFCPlugin.build(IFC_TINY)
    contents = open_checkpoint(path)
    with pytest.raises(CheckpointError, match="criterion.aux_buffer"):
        load_state_dict_strict(plugin.model, contents, plugin.spec)
    spec = dataclasses.replace(plugin.spec, ignored_checkpoint_keys=(r"^criterion\.aux_",))
    report = load_state_dict_strict(plugin.model, contents, spec)
    assert report.clean and report.ignored == ["criterion.aux_buffer"]
