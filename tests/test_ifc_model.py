"""IFC network: checkpoint key names, preprocessing, and every encoder variant runs."""

from __future__ import annotations

import json

import pytest
import torch

from vis_bench.errors import InputError
from vis_bench.methods.ifc.authors_loop import authors_loop_results
from vis_bench.methods.ifc.model import IFCModel
from vis_bench.methods.ifc.plugin import IFCPlugin, resized_shape
from vis_bench.methods.ifc.transformer import COMM_VARIANTS

TINY = {"hidden_dim": 64, "dim_feedforward": 64, "num_queries": 6, "enc_layers": 3}


def test_full_r50_state_dict_matches_authors_key_list(golden_dir):
    expected = json.loads((golden_dir / "ifc/state_dict_keys_r50.json").read_text())
    with torch.device("meta"):
        model = IFCModel()
    produced = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    assert len(produced) == 429
    assert produced == expected


@pytest.mark.parametrize("comm", COMM_VARIANTS)
def test_every_comm_variant_runs_end_to_end(comm):
    torch.manual_seed(0)
    plugin = IFCPlugin.build({**TINY, "comm": comm, "with_backbone": False})
    net = plugin.model.detr
    t = 3
    feats = {
        "res3": torch.randn(t, 512, 8, 12),
        "res4": torch.randn(t, 1024, 4, 6),
        "res5": torch.randn(t, 2048, 2, 3),
    }
    with torch.no_grad():
        out = net.forward_post_backbone(feats)
    assert out["pred_logits"].shape == (1, 6, 41)
    assert out["pred_masks"].shape == (1, 6, t, 8, 12)
    assert torch.isfinite(out["pred_masks"]).all()
    # frames communicate in every variant except "none": changing frame 0 changes frame 2's masks
    feats2 = {k: v.clone() for k, v in feats.items()}
    feats2["res5"][0] += 1.0
    with torch.no_grad():
        out2 = net.forward_post_backbone(feats2)
    changed = not torch.allclose(out["pred_masks"][0, :, 2], out2["pred_masks"][0, :, 2])
    assert changed  # via the decoder's clip-level queries in all variants


def test_encoder_variants_differ_in_communication():
    from vis_bench.methods.ifc.transformer import IFCEncoder

    torch.manual_seed(0)
    n, t, c = 4, 3, 32
    src, pos = torch.randn(n, t, c), torch.randn(n, t, c)
    bus = torch.randn(2, c)
    for comm in COMM_VARIANTS:
        enc = IFCEncoder(comm, c, 4, 64, 3).eval()
        args = (bus, bus) if comm == "ifc" else (None, None)
        with torch.no_grad():
            a, _ = enc(src, pos, None, *args)
            src2 = src.clone()
            src2[:, 0] += 1.0
            b, _ = enc(src2, pos, None, *args)
        frame2_changed = not torch.allclose(a[:, 2], b[:, 2])
        assert frame2_changed == (comm != "none"), comm


@pytest.mark.slow
def test_plugin_preprocess_and_video_loop_with_backbone():
    torch.manual_seed(0)
    plugin = IFCPlugin.build({**TINY, "window": 2, "stride": 1})
    frames = torch.randint(0, 256, (3, 3, 48, 64), dtype=torch.uint8)
    x = plugin.preprocess(frames, shorter_side=32)
    assert x.shape == (3, 3, 32, 43) == (3, 3, *resized_shape(48, 64, 32, 1333))
    clip = plugin.infer_clip(x[:2])
    assert clip.masks.shape[1:] == (2, 4, 6) and (clip.labels >= 1).all()
    results = authors_loop_results(plugin, x, video_id=7, orig_size=(48, 64))
    for r in results:
        assert r["video_id"] == 7 and len(r["segmentations"]) == 3
        assert r["segmentations"][0]["size"] == [48, 64]


def test_resize_rule_matches_detectron2_examples():
    assert resized_shape(720, 1280, 360, 1333) == (360, 640)
    assert resized_shape(1080, 1920, 360, 1333) == (360, 640)
    assert resized_shape(480, 640, 360, 1333) == (360, 480)


def test_unknown_option_is_rejected():
    with pytest.raises(InputError, match="bogus"):
        IFCPlugin.build({"bogus": 1})
    with pytest.raises(InputError, match="comm"):
        IFCPlugin.build({"comm": "sideways"})
