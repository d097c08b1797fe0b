"""`mssts-release`: the released MS-STS code is SeqFormer at depth 3+3 plus inert parameters."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from vis_bench.cli import main
from vis_bench.methods.families.seqformer.model import SeqFormerConfig
from vis_bench.methods.mssts.plugin import MSSTSReleasePlugin
from vis_bench.methods.mssts.release import build_release, depth_of

TINY = {"hidden_dim": 32, "dim_feedforward": 64, "num_queries": 6, "backbone": None}


def test_parity_command_passes_on_the_release_fixture(golden_dir, tmp_path, capsys):
    out = tmp_path / "produced.pt"
    fixture = golden_dir / "mssts" / "public"
    code = main(
        ["parity", "--method", "mssts-release", "--fixture", str(fixture), "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "PASS" in printed
    produced = torch.load(out, weights_only=True)
    assert {"pred_logits", "pred_boxes", "pred_masks", "postprocess"} <= set(produced)


def test_r50_state_dict_equals_the_release_key_list(golden_dir):
    expected = json.loads((golden_dir / "mssts" / "state_dict_keys_r50.json").read_text())
    with torch.device("meta"):
        model = build_release(SeqFormerConfig(enc_layers=3, dec_layers=3))
    got = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    assert got == expected
    assert sum(p.numel() for p in model.parameters()) == 40_956_292


def test_inert_module_is_never_called():
    model = build_release(SeqFormerConfig.from_dict(dict(TINY, enc_layers=1, dec_layers=1)))
    with pytest.raises(RuntimeError, match="inert"):
        model.detr.transformer.decoder.layers[0].temp_attn_box(torch.zeros(1, 2, 300))


def _release_checkpoint(path, depth: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(depth)
    config = SeqFormerConfig.from_dict(dict(TINY, enc_layers=depth, dec_layers=depth))
    state = build_release(config).state_dict()
    torch.save({"model": state, "args": argparse.Namespace(enc_layers=depth)}, path)
    return state


@pytest.mark.parametrize("depth", [3, 6])
def test_strict_loading_of_both_release_depths(tmp_path, depth):
    path = tmp_path / f"release_{depth}.pth"
    state = _release_checkpoint(path, depth)
    assert depth_of(state) == (depth, depth)
    plugin = MSSTSReleasePlugin.build(dict(TINY))  # built at the default 3+3
    plugin.load_checkpoint(str(path))
    assert (plugin.config.enc_layers, plugin.config.dec_layers) == (depth, depth)
    loaded = plugin.model.state_dict()
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_a_checkpoint_without_the_inert_module_is_not_the_release_layout(tmp_path):
    path = tmp_path / "seqformer_layout.pth"
    state = _release_checkpoint(path, 3)
    stripped = {k: v for k, v in state.items() if "temp_attn_box" not in k}
    torch.save({"model": stripped}, path)
    plugin = MSSTSReleasePlugin.build(dict(TINY))
    with pytest.raises(Exception, match="temp_attn_box"):
        plugin.load_checkpoint(str(path))


def test_methods_lists_the_release_with_its_note(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "mssts-release" in out and "no MS-STS attention" in out
