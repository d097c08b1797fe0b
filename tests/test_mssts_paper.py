"""`mssts`: the paper's design, reconstructed; properties that hold without a reference."""

from __future__ import annotations

import pytest
import torch

from vis_bench.methods.families.seqformer.model import SeqFormerConfig
from vis_bench.methods.families.seqformer.parity import run_parity
from vis_bench.methods.mssts.paper import (
    TemporalAttentionBlock,
    build_mssts,
    short_sequence_attention,
)
from vis_bench.methods.mssts.plugin import MSSTSPlugin
from vis_bench.parity import captured_outputs

TINY = dict(
    hidden_dim=32, dim_feedforward=64, enc_layers=2, dec_layers=2, num_queries=5, backbone=None
)


def test_fresh_model_reproduces_the_seqformer_fixture(golden_dir):
    """Zero-initialised output projections: the new blocks start as the identity."""
    report = run_parity(golden_dir / "seqformer" / "public", None, "mssts", build_mssts)
    keys = next(c for c in report.checks if c.name == "state_dict keys")
    assert not keys.passed  # only the new blocks are missing from a SeqFormer state dict
    assert "intra_scale" in keys.detail or "temporal" in keys.detail
    others = [c for c in report.checks if c.name != "state_dict keys"]
    assert others and all(c.passed for c in others), report.format()


@pytest.mark.parametrize("lengths", [(5, 5), (3, 7)])
def test_short_sequence_attention_is_multihead_attention(lengths):
    torch.manual_seed(0)
    attn = torch.nn.MultiheadAttention(32, 4)
    torch.nn.init.normal_(attn.in_proj_bias, std=0.3)
    torch.nn.init.normal_(attn.out_proj.bias, std=0.3)
    lq, lk = lengths
    query, key, value = torch.randn(lq, 11, 32), torch.randn(lk, 11, 32), torch.randn(lk, 11, 32)
    expected = attn(query, key, value, need_weights=False)[0]
    torch.testing.assert_close(
        short_sequence_attention(attn, query, key, value), expected, rtol=1e-5, atol=1e-6
    )


def _randomise_blocks(model: torch.nn.Module) -> None:
    torch.manual_seed(1)
    for module in model.modules():
        if isinstance(module, TemporalAttentionBlock):
            torch.nn.init.normal_(module.attn.out_proj.weight, std=0.2)
            torch.nn.init.normal_(module.attn.out_proj.bias, std=0.2)


def _features(t: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    features = {
        "res3": torch.randn(t, 512, 8, 12, generator=gen),
        "res4": torch.randn(t, 1024, 4, 6, generator=gen),
        "res5": torch.randn(t, 2048, 2, 3, generator=gen),
    }
    masks = {k: torch.zeros(t, *v.shape[-2:], dtype=torch.bool) for k, v in features.items()}
    return features, masks, torch.zeros(t, 64, 96, dtype=torch.bool)


@pytest.fixture(scope="module")
def tiny_mssts():
    torch.manual_seed(0)
    model = build_mssts(SeqFormerConfig.from_dict(dict(TINY)))
    _randomise_blocks(model)
    return model


def _memory(model, *args) -> torch.Tensor:
    """The encoder output [B, T, S, C] of one forward, read with a forward hook."""
    with torch.no_grad(), captured_outputs(model, {"memory": "detr.transformer.encoder"}) as got:
        model.forward_features(*args)
    return got["memory"][0]


def test_encoder_is_equivariant_to_permuting_frames(tiny_mssts):
    features, masks, image_mask = _features(4)
    perm = torch.tensor([2, 0, 3, 1])
    memory = _memory(tiny_mssts, features, masks, image_mask, (96, 64))
    memory_p = _memory(
        tiny_mssts,
        {k: v[perm] for k, v in features.items()},
        {k: v[perm] for k, v in masks.items()},
        image_mask[perm],
        (96, 64),
    )
    torch.testing.assert_close(memory_p[0], memory[0][perm], atol=1e-5, rtol=0)
    # the frames really interact: frame 0's memory depends on the other frames
    other = {k: v.clone() for k, v in features.items()}
    other["res3"][1:] = torch.randn_like(other["res3"][1:])  # a constant would be normalised away
    changed = _memory(tiny_mssts, other, masks, image_mask, (96, 64))
    assert (changed[0, 0] - memory[0, 0]).abs().max() > 1e-4


def test_decoder_block_changes_the_outputs(tiny_mssts):
    features, masks, image_mask = _features(3, seed=5)
    hooked = {"memory": "detr.transformer.encoder"}
    with torch.no_grad(), captured_outputs(tiny_mssts, hooked) as memory:
        before = tiny_mssts.forward_features(features, masks, image_mask, (96, 64))
        for layer in tiny_mssts.detr.transformer.decoder.layers:
            torch.nn.init.zeros_(layer.temporal.attn.out_proj.weight)
            torch.nn.init.zeros_(layer.temporal.attn.out_proj.bias)
        after = tiny_mssts.forward_features(features, masks, image_mask, (96, 64))
    # same encoder output, different decoder output
    torch.testing.assert_close(memory["memory"][0], memory["memory"][1])
    assert (before["pred_logits"] - after["pred_logits"]).abs().max() > 1e-4


def test_r50_parameter_count_is_pinned():
    with torch.device("meta"):
        model = build_mssts(SeqFormerConfig())
    total = sum(p.numel() for p in model.parameters())
    backbone = sum(p.numel() for p in model.detr.backbone.parameters())
    assert backbone == 23_454_912
    # SeqFormer's 24,949,261 non-backbone parameters + 6 encoder layers x 2 blocks + 6 decoder
    # blocks, each LayerNorm (2C) + packed in-projection (3C^2 + 3C) + out-projection (C^2 + C)
    block = 2 * 256 + 3 * 256 * 256 + 3 * 256 + 256 * 256 + 256
    assert total - backbone == 24_949_261 + 18 * block
    assert total == 48_404_173 + 18 * block


def test_plugin_note_says_reconstruction():
    assert "reconstruction from the paper" in MSSTSPlugin.spec.notes
    assert MSSTSPlugin.spec.parity is None  # nothing to reproduce: `parity` says so


@pytest.mark.slow
def test_r50_gmacs_per_frame_are_pinned():
    """T=5 at 360x640 (the papers' setting), counted on what the forward executes."""
    from vis_bench.measure.model_flops import clip_flops

    torch.manual_seed(0)
    plugin = MSSTSPlugin.build({})
    clip = plugin.preprocess(torch.randint(0, 255, (5, 3, 360, 640), dtype=torch.uint8))
    report = clip_flops(plugin, clip)
    modules = report["gmacs_per_frame_by_module"]
    # the data-independent parts (the mask branch runs only for the queries the top-10 keeps)
    assert modules["detr.transformer.encoder"] == pytest.approx(37.88, abs=0.01)
    assert modules["detr.backbone"] == pytest.approx(19.13, abs=0.01)
    assert 66.0 < report["gmacs_per_frame"] < 67.0
