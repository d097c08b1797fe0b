"""VidEoMT against the fixtures made with the authors' code, its ViT, and its clip-to-clip state."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers.memory_source import MemoryVideo
from vis_bench.api.registration import get_method
from vis_bench.formats.checkpoints import CheckpointError
from vis_bench.inference.runner import run_method
from vis_bench.methods.common.vit import VisionTransformer, ViTConfig, resample_position_embedding
from vis_bench.methods.videomt.parity import build_plugin, final_results, run_network, run_parity
from vis_bench.methods.videomt.plugin import checkpoint_options
from vis_bench.methods.videomt.preprocessing import pad_frames

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {
    "backbone": "vit_s",
    "embed_dim": 32,
    "depth": 3,
    "num_heads": 2,
    "query_blocks": [1, 2],
    "num_queries": 6,
    "num_classes": 3,
    "img_size": 64,
}


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "videomt" / "public"


def test_parity_passes_on_the_public_fixture(golden_dir):
    report = run_parity(_fixture(golden_dir))
    assert report.passed, report.format()
    names = {check.name for check in report.checks}
    assert {
        "pos_embed_resampled",
        "tokens_before_query_blocks",
        "queries_in",
        "propagated_queries",
        "pred_masks",
        "inference_video_vis (replayed).pred_masks_rle",
        "harness T=3 S=2.pred_masks",
    } <= names
    assert not report.produced_only


def test_a_changed_query_updater_fails_parity(golden_dir, tmp_path):
    """The propagation is compared: a changed `query_updater` moves every frame after the first."""
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "state_dict.pt"
    path.chmod(0o644)
    state = torch.load(path, weights_only=True)
    state["backbone.query_updater.bias"] += 0.5
    torch.save(state, path)
    report = run_parity(fixture)
    failed = {check.name for check in report.checks if not check.passed}
    assert "propagated_queries" in failed and "pred_logits" in failed
    assert "embedded_tokens" not in failed


@pytest.mark.parametrize("size", ["s", "b", "l"])
def test_key_lists_equal_the_authors(golden_dir, size):
    expected = json.loads((golden_dir / f"videomt/state_dict_keys_vit{size}.json").read_text())
    with torch.device("meta"):
        model = get_method("videomt").build({"backbone": f"vit_{size}"}).model
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == expected
    shapes = {key: torch.empty(shape, device="meta") for key, shape in expected}
    options = checkpoint_options(shapes)
    assert options["backbone"] == f"vit_{size}"
    assert (options["num_queries"], options["num_classes"], options["img_size"]) == (200, 40, 640)
    assert len(options["query_blocks"]) == (4 if size == "l" else 3)


def _bicubic_aa_weights(size_in: int, size_out: int) -> np.ndarray:
    """PIL's antialiased bicubic (a = -0.5) resampling matrix [out, in], written out."""

    def kernel(x: float) -> float:
        a, x = -0.5, abs(x)
        if x < 1:
            return ((a + 2) * x - (a + 3)) * x * x + 1
        if x < 2:
            return (((x - 5) * x + 8) * x - 4) * a
        return 0.0

    scale = size_in / size_out
    support = 2 * max(scale, 1.0)
    weights = np.zeros((size_out, size_in))
    for i in range(size_out):
        center = (i + 0.5) * scale
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), size_in)
        row = [kernel((j - center + 0.5) / max(scale, 1.0)) for j in range(lo, hi)]
        weights[i, lo:hi] = np.array(row) / sum(row)
    return weights


def test_position_embedding_resampling_is_antialiased_bicubic():
    """6x6 -> 4x8 (down in height, up in width), against the separable filter written out."""
    torch.manual_seed(0)
    pos = torch.randn(1, 36, 5)
    got = resample_position_embedding(pos, (4, 8), (6, 6)).reshape(4, 8, 5)
    grid = pos.reshape(6, 6, 5).double().numpy()
    rows, cols = _bicubic_aa_weights(6, 4), _bicubic_aa_weights(6, 8)
    expected = np.einsum("ai,bj,ijc->abc", rows, cols, grid)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)
    # timm's rule: unchanged for an equal square grid, resampled for a non-square one
    assert resample_position_embedding(pos, (6, 6), (6, 6)) is pos
    assert not torch.equal(resample_position_embedding(pos, (4, 9), (6, 6)), pos)


def test_cls_and_registers_get_no_position_embedding():
    torch.manual_seed(0)
    vit = VisionTransformer(ViTConfig(embed_dim=16, depth=1, num_heads=2, img_size=64))
    with torch.no_grad():
        vit.cls_token.normal_()
        vit.reg_token.normal_()
    tokens, grid = vit.embed(torch.randn(2, 3, 48, 80))
    assert grid == (3, 5) and tokens.shape == (2, 5 + 15, 16)
    assert torch.equal(tokens[:, :1], vit.cls_token.expand(2, -1, -1))
    assert torch.equal(tokens[:, 1:5], vit.reg_token.expand(2, -1, -1))


def _lively(options: dict) -> object:
    """A small model whose random blocks do something (LayerScale 1e-5 would silence them)."""
    torch.manual_seed(0)
    plugin = get_method("videomt").build(options)
    with torch.no_grad():
        for name, param in plugin.model.named_parameters():
            if name.endswith("gamma"):
                param.fill_(0.5)
            elif name.endswith(("cls_token", "reg_token")):
                param.normal_()
        plugin.model.backbone.class_head.weight.mul_(8)
        plugin.model.backbone.query_updater.weight.mul_(4)
    return plugin


class _OneVideo:
    def __init__(self, frames: np.ndarray):
        self.frames = frames
        self.video = MemoryVideo(3, frames.shape[1], frames.shape[2], frames.shape[0])

    def videos(self):
        return [self.video]

    def read_frames(self, video, indices):
        return self.frames[indices]


def _results(plugin, source, clip_length, stride):
    outcome = run_method(plugin, source, clip_length=clip_length, stride=stride, resolution=64)
    return outcome.results


@pytest.mark.parametrize(("clip_length", "stride"), [("all", None), (3, 2), (4, 1)])
def test_any_clip_schedule_gives_the_per_frame_loop(clip_length, stride):
    """T = 1 (the released window) is the reference; other schedules must give its labels,
    tracks and masks, with scores within 1e-5."""
    plugin = _lively(SMALL)
    rng = np.random.default_rng(0)
    source = _OneVideo(rng.integers(0, 256, (7, 60, 90, 3), dtype=np.uint8))
    reference = _results(plugin, source, 1, 1)
    other = _results(plugin, source, clip_length, stride)
    assert len(reference) == 10 and len({r["score"] for r in reference}) > 1
    assert [r["category_id"] for r in other] == [r["category_id"] for r in reference]
    assert [r["segmentations"] for r in other] == [r["segmentations"] for r in reference]
    assert max(abs(a["score"] - b["score"]) for a, b in zip(other, reference, strict=True)) <= 1e-5


def test_carried_queries_change_the_predictions():
    """The state matters: restarting every clip from `q.weight` gives other results."""
    plugin = _lively(SMALL)
    frames = plugin.preprocess(torch.randint(0, 256, (4, 3, 64, 96), dtype=torch.uint8), 64)
    with torch.inference_mode():
        whole = plugin.infer_clip(frames)
        first = plugin.infer_clip(frames[:2])
        carried = plugin.infer_clip(frames[2:], state=first.state)
        restarted = plugin.infer_clip(frames[2:])
        outputs, _ = plugin.model(pad_frames(frames))  # the model's own per-frame loop
    assert torch.equal(carried.frame_logits, whole.frame_logits[2:])
    assert torch.equal(torch.cat([out.class_logits for out in outputs]), whole.frame_logits)
    assert not torch.allclose(restarted.frame_logits, whole.frame_logits[2:])


def test_a_wrong_checkpoint_is_refused_naming_the_keys(tmp_path):
    plugin = get_method("videomt").build(SMALL)
    state = plugin.model.state_dict()
    state.pop("backbone.query_updater.bias")
    state["backbone.query_updator.bias"] = torch.zeros(32)
    state["backbone.q.weight"] = torch.zeros(7, 32)
    path = tmp_path / "wrong.pth"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as err:
        plugin.load_checkpoint(str(path))
    message = str(err.value)
    for key in ("backbone.query_updater.bias", "backbone.query_updator.bias", "backbone.q.weight"):
        assert key in message


def test_the_upscale_reaches_stride_4_for_16_pixel_patches():
    plugin = get_method("videomt").build(SMALL)
    assert len(plugin.model.backbone.upscale) == max(1, int(math.log2(16)) - 2) == 2
    frames = plugin.preprocess(torch.zeros(1, 3, 64, 96, dtype=torch.uint8), 64)
    with torch.inference_mode():
        result = plugin.infer_clip(frames)
    assert result.mask_logits.shape == (6, 1, 16, 24)


def _other_fixture(golden_dir: Path, folder: Path) -> None:
    """A fixture set in the public set's layout with other settings (width, depth, heads,
    query blocks, classes, queries, length, size; a token grid equal to the stored one), its
    expected values written by this re-implementation: it shows that nothing of the public
    set's sizes is assumed, not that the numbers are the authors'."""
    folder.mkdir()
    meta = json.loads((_fixture(golden_dir) / "meta.json").read_text())
    meta["timm_create_model_call"].update(embed_dim=48, depth=4, num_heads=3, img_size=96)
    meta["mlp_hidden"] = 192
    meta["overrides"] = {
        "MODEL.BACKBONE.IMG_SIZE": 96,
        "MODEL.BACKBONE.NUM_CLASSES": 3,
        "MODEL.BACKBONE.NUM_OBJECT_QUERIES": 7,
        "MODEL.BACKBONE.SEGMENTER_BLOCKS": "[1, 2, 3]",
    }
    (folder / "meta.json").write_text(json.dumps(meta))
    plugin = build_plugin(folder)
    torch.manual_seed(3)
    with torch.no_grad():
        for name, param in plugin.model.named_parameters():
            if name.endswith(("gamma", "cls_token", "reg_token")):
                param.normal_(0.5, 0.2)
    torch.save(plugin.model.state_dict(), folder / "state_dict.pt")
    frames = torch.randint(0, 256, (3, 3, 70, 90), dtype=torch.uint8)
    normalized = plugin.preprocessing(frames, 70)
    sizes = {"image_size": [70, 90], "padded_size": [96, 96], "orig_size": [105, 135]}
    inputs = {"frames_uint8": frames, "normalized_input": pad_frames(normalized), **sizes}
    torch.save(inputs, folder / "inputs.pt")
    with torch.inference_mode():
        forward, _ = run_network(plugin, normalized)
    forward.pop("queries_in")
    forward = {name: value.detach().clone() for name, value in forward.items()}
    torch.save(forward, folder / "forward.pt")
    pred_cls = forward["pred_logits"][0].mean(0)
    post = final_results(pred_cls, forward["pred_masks"][0], (70, 90), (105, 135), (96, 96))
    post["inference_video_vis_in"] = {
        "pred_cls": pred_cls,
        "img_size": [70, 90],
        "output_height": 105,
        "output_width": 135,
        "first_resize_size": [96, 96],
        "pred_id": torch.arange(7),
    }
    torch.save(post, folder / "postprocess.pt")


def test_parity_runs_a_fixture_with_other_settings(golden_dir, tmp_path):
    _other_fixture(golden_dir, tmp_path / "other")
    report = run_parity(tmp_path / "other")
    assert report.passed, report.format()
    shapes = {c.name for c in report.checks if c.max_abs_diff is not None}
    assert {"query_block_out", "pos_embed_resampled", "queries_in"} <= shapes
