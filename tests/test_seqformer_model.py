"""SeqFormer model: the official state-dict layout, the clip forward and the plugin around it."""

from __future__ import annotations

import json

import pytest
import torch

from vis_bench.api.plugin import ClipResult
from vis_bench.cli import main
from vis_bench.errors import InputError
from vis_bench.methods.families.seqformer.model import SeqFormerConfig, build
from vis_bench.methods.seqformer.plugin import SeqFormerPlugin
from vis_bench.parity import captured_outputs

TINY = {
    "hidden_dim": 64,
    "dim_feedforward": 128,
    "enc_layers": 1,
    "dec_layers": 2,
    "num_queries": 12,
}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def r50_meta():
    with torch.device("meta"):
        return build()


def test_r50_state_dict_names_and_shapes_equal_the_official_list(golden_dir, r50_meta):
    expected = json.loads((golden_dir / "seqformer/state_dict_keys_r50.json").read_text())
    got = [[k, list(v.shape)] for k, v in r50_meta.state_dict().items()]
    assert len(got) == 733
    assert got == expected


def test_r50_sizes_and_box_head_alias(r50_meta):
    assert sum(p.numel() for p in r50_meta.parameters()) == 48_404_173
    assert sum(v.numel() for v in r50_meta.state_dict().values()) == 49_306_085
    assert r50_meta.detr.transformer.decoder.bbox_embed is r50_meta.detr.bbox_embed
    assert r50_meta.num_gen_params == 169


def test_config_rejects_unknown_and_unsupported_options():
    with pytest.raises(InputError, match="hiden_dim"):
        SeqFormerConfig.from_dict({"hiden_dim": 64})
    with pytest.raises(InputError, match="with_box_refine"):
        SeqFormerConfig.from_dict({"with_box_refine": False})
    with pytest.raises(InputError, match="backbone"):
        SeqFormerConfig.from_dict({"backbone": "swin"})


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    model = build({**TINY, "backbone": None})
    with torch.no_grad():  # make the mask logits large enough to be interesting
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def _features(t: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    sizes = {"res3": (512, 6, 10), "res4": (1024, 3, 5), "res5": (2048, 2, 3)}
    feats = {k: torch.randn(t, c, h, w, generator=g) for k, (c, h, w) in sizes.items()}
    masks = {k: torch.zeros(t, h, w, dtype=torch.bool) for k, (_, h, w) in sizes.items()}
    return feats, masks, torch.zeros(t, 48, 80, dtype=torch.bool)


def test_last_layer_outputs_shapes_and_earlier_layers_by_hooks(tiny_model):
    """The forward returns the last layer only; parity computes earlier ones from hooks."""
    feats, masks, image_mask = _features(3)
    hooked = {"decoder": "detr.transformer.decoder", "mask_feats": "mask_head"}
    inputs = {"init_reference": ("detr.transformer.decoder", 1)}
    with torch.no_grad(), captured_outputs(tiny_model, hooked, inputs) as captured:
        last = tiny_model.forward_features(feats, masks, image_mask, (80, 48))
    assert set(last) == {"pred_logits", "pred_boxes", "pred_masks", "query_embeddings"}
    assert last["pred_logits"].shape == (1, 12, 42)
    assert last["pred_boxes"].shape == (1, 3, 12, 4)
    assert last["pred_masks"].shape == (1, 12, 3, 12, 20)
    assert last["query_embeddings"].shape == (1, 12, 64)
    hs, hs_box, inter_references = captured["decoder"][0]
    torch.testing.assert_close(last["query_embeddings"], hs[-1], rtol=0, atol=0)
    # boxes of a layer equal the reference it hands to the next layer
    torch.testing.assert_close(last["pred_boxes"], inter_references[-1])
    out = {
        "hs": hs,
        "hs_box": hs_box,
        "init_reference": captured["init_reference"][0],
        "inter_references": inter_references,
    }
    with torch.no_grad():
        heads = [tiny_model.layer_heads(out, lvl, (80, 48)) for lvl in (0, 1)]
    torch.testing.assert_close(heads[1]["pred_logits"], last["pred_logits"], rtol=0, atol=0)
    torch.testing.assert_close(heads[1]["pred_boxes"], last["pred_boxes"], rtol=0, atol=0)
    assert heads[0]["pred_logits"].shape == (1, 12, 42)


def test_frames_only_meet_in_the_decoder_aggregation(tiny_model):
    """Reordering frames reorders per-frame outputs and leaves the video-level logits alone."""
    feats, masks, image_mask = _features(3, seed=1)
    order = [2, 0, 1]
    shuffled = {k: v[order] for k, v in feats.items()}
    with torch.no_grad():
        a = tiny_model.forward_features(feats, masks, image_mask, (80, 48))
        b = tiny_model.forward_features(shuffled, masks, image_mask, (80, 48))
    torch.testing.assert_close(b["pred_logits"], a["pred_logits"], atol=1e-5, rtol=0)
    torch.testing.assert_close(b["pred_boxes"], a["pred_boxes"][:, order], atol=1e-5, rtol=0)
    torch.testing.assert_close(b["pred_masks"], a["pred_masks"][:, :, order], atol=1e-3, rtol=0)
    # and the clip as a whole matters: a single frame gives other logits
    single = {k: v[:1] for k, v in feats.items()}
    with torch.no_grad():
        c = tiny_model.forward_features(
            single, {k: m[:1] for k, m in masks.items()}, image_mask[:1], (80, 48)
        )
    assert (c["pred_logits"] - a["pred_logits"]).abs().max() > 1e-4


def test_preprocess_resizes_shorter_side_and_normalises():
    plugin = SeqFormerPlugin.build({**TINY})
    resize = plugin.preprocessing.resize_frames
    frames = torch.full((2, 3, 720, 1280), 124, dtype=torch.uint8)
    x = plugin.preprocess(frames)
    assert x.shape == (2, 3, 360, 640)
    torch.testing.assert_close(
        x[0, :, 0, 0],
        (124 / 255 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225]),
    )
    assert resize(torch.zeros(1, 3, 1280, 720, dtype=torch.uint8), 360).shape[-2:] == (
        640,
        360,
    )
    # torchvision 0.8 truncates the long side: 480x854 -> 360x640 (int(640.5))
    assert resize(torch.zeros(1, 3, 480, 854, dtype=torch.uint8), 360).shape[-2:] == (
        360,
        640,
    )
    same = torch.randint(0, 255, (1, 3, 360, 500), dtype=torch.uint8)
    assert resize(same, 360) is same
    assert plugin.preprocess(frames, shorter_side=180).shape[-2:] == (180, 320)


def test_plugin_infers_a_clip_end_to_end():
    torch.manual_seed(0)
    plugin = SeqFormerPlugin.build({**TINY, "top_k": 5})
    frames = torch.randint(0, 255, (2, 3, 72, 100), dtype=torch.uint8)
    clip = plugin.preprocess(frames, shorter_side=64)  # 64 x 88
    result = plugin.infer_clip(clip)
    assert isinstance(result, ClipResult)
    assert len(result) <= 5
    assert result.masks.shape[1:] == (2, 16, 22)  # stride 4 of the input
    assert ((result.masks >= 0) & (result.masks <= 1)).all()
    assert result.extra["query_embeddings"].shape == (len(result), 64)
    assert plugin.flops_modules()[0] == "detr.backbone"


def test_methods_command_lists_seqformer(capsys):
    assert main(["methods"]) == 0
    assert any(line.startswith("seqformer") for line in capsys.readouterr().out.splitlines())
