"""Checkpoints in the authors' layout load strictly through each plugin's `load_checkpoint`, and
`check-checkpoint` names their backbone and lists what would not load.

Checkpoint files are written from the golden key lists with every tensor a stride-0 expansion of
one number: the full layout (a Swin-L model's 825 entries) in a few hundred kilobytes. Plugins
are built on the meta device and given uninitialised CPU storage (`to_empty`), so a full-size
model costs its memory but not the seconds of its random initialisation; the load itself is
the plugin's own.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest
import torch

from vis_bench.cli import main
from vis_bench.errors import VisBenchError
from vis_bench.methods.common.swin import relative_position_index
from vis_bench.methods.ifc.plugin import IFCPlugin
from vis_bench.methods.mssts.plugin import MSSTSReleasePlugin
from vis_bench.methods.seqformer.plugin import SeqFormerPlugin

FILL = 0.5


def _release_file(golden_dir, stem: str, path, drop=(), extra=None):
    """A release-format `.pth` with exactly the golden key list's entries, plus what the
    authors' training loops store beside them (SeqFormer: `args`; detectron2: `iteration`)."""
    entries = json.loads((golden_dir / "backbones" / f"state_dict_keys_{stem}.json").read_text())
    state = {}
    for key, shape in entries:
        if key in drop:
            continue
        if key.endswith("relative_position_index"):
            state[key] = relative_position_index(math.isqrt(shape[0]))
        else:
            state[key] = torch.tensor(FILL).expand(shape)
    state.update(extra or {})
    path = path / f"{stem}.pth"
    if stem.startswith("ifc"):
        torch.save({"model": state, "iteration": 6000}, path)
    else:
        torch.save({"model": state, "args": argparse.Namespace(backbone=stem)}, path)
    return path


def _empty_plugin(plugin_class, options):
    with torch.device("meta"):
        plugin = plugin_class.build(options)
    plugin.model.to_empty(device="cpu")
    return plugin


def _all_loaded(model: torch.nn.Module) -> bool:
    return all(
        bool((value == FILL).all())
        for key, value in model.state_dict().items()
        if value.is_floating_point()
    )


@pytest.mark.slow
def test_seqformer_swin_l_release_loads_strictly(golden_dir, tmp_path):
    path = _release_file(golden_dir, "seqformer_swinl", tmp_path)
    plugin = _empty_plugin(SeqFormerPlugin, {"backbone": "swin_l"})
    assert plugin.load_checkpoint(str(path)).clean
    assert _all_loaded(plugin.model)
    index = plugin.model.state_dict()[
        "detr.backbone.0.body.layers.3.blocks.1.attn.relative_position_index"
    ]
    assert torch.equal(index, relative_position_index(12))


@pytest.mark.slow
def test_seqformer_swin_l_runs_a_small_clip():
    torch.manual_seed(0)
    plugin = SeqFormerPlugin.build({"backbone": "swin_l"})
    frames = torch.randint(0, 255, (2, 3, 48, 72), dtype=torch.uint8)
    result = plugin.infer_clip(plugin.preprocess(frames, shorter_side=48))
    assert result.masks.shape[1:] == (2, 12, 18)  # stride 4 of the 48 x 72 input
    assert torch.isfinite(result.mask_logits).all()


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["64x4d", "32x8d"])
def test_resnext_releases_load_strictly_into_their_variant_only(golden_dir, tmp_path, variant):
    path = _release_file(golden_dir, f"seqformer_x101_{variant}", tmp_path)
    plugin = _empty_plugin(SeqFormerPlugin, {"backbone": f"resnext101_{variant}"})
    assert plugin.load_checkpoint(str(path)).clean
    assert _all_loaded(plugin.model)
    other = "32x8d" if variant == "64x4d" else "64x4d"
    wrong = _empty_plugin(SeqFormerPlugin, {"backbone": f"resnext101_{other}"})
    with pytest.raises(VisBenchError, match="layer1.0.conv2.weight"):
        wrong.load_checkpoint(str(path))


@pytest.mark.slow
@pytest.mark.parametrize(("stem", "depth"), [("mssts_swinl", 3), ("mssts_swinl_inference6x6", 6)])
def test_mssts_swin_l_releases_of_both_depths_load_strictly(golden_dir, tmp_path, stem, depth):
    path = _release_file(golden_dir, stem, tmp_path)
    options = {"backbone": "swin_l", "enc_layers": depth, "dec_layers": depth}
    plugin = _empty_plugin(MSSTSReleasePlugin, options)
    assert plugin.load_checkpoint(str(path)).clean
    assert _all_loaded(plugin.model)


def test_ifc_r101_release_loads_every_key(golden_dir, tmp_path):
    path = _release_file(golden_dir, "ifc_r101", tmp_path)
    plugin = _empty_plugin(IFCPlugin, {"backbone": "resnet101"})
    plugin.load_checkpoint(str(path))
    assert _all_loaded(plugin.model)


def test_ifc_r101_takes_bgr_frames_minus_the_msra_mean():
    frames = torch.randint(0, 255, (2, 3, 36, 48), dtype=torch.uint8)
    x = IFCPlugin.build({"backbone": "resnet101", "with_backbone": False}).preprocess(frames, 36)
    mean = torch.tensor([103.530, 116.280, 123.675]).view(1, 3, 1, 1)
    assert torch.equal(x, frames.flip(1).float() - mean)
    r50 = IFCPlugin.build({"with_backbone": False}).preprocess(frames, 36)
    assert torch.allclose(r50[:, 0] * 58.395 + 123.675, frames[:, 0].float(), atol=1e-4)


@pytest.mark.parametrize(
    ("stem", "method", "detected"),
    [
        ("seqformer_x101_64x4d", "seqformer", "resnext101_64x4d (torchvision layout)"),
        ("seqformer_x101_32x8d", "seqformer", "groups 32 = 256 / 8"),
        ("mssts_swinl", "mssts-release", "swin_l (torchvision layout): embed_dim 192"),
        ("mssts_swinl_inference6x6", "mssts-release", "'enc_layers': 6"),
        ("ifc_r101", "ifc", "resnet101 (detectron2 layout)"),
    ],
)
def test_check_checkpoint_accepts_the_authors_layouts(
    golden_dir, tmp_path, capsys, stem, method, detected
):
    path = _release_file(golden_dir, stem, tmp_path)
    code = main(["check-checkpoint", str(path), "--method", method])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert detected in printed
    assert "OK: loads strictly" in printed


def test_check_checkpoint_lists_every_problem(golden_dir, tmp_path, capsys):
    extra = {
        "detr.class_embed.0.weight": torch.zeros(41, 256),
        "detr.unknown.weight": torch.zeros(3),
        # a plain BatchNorm counter: frozen BatchNorm ignores it, as a real load does
        "detr.backbone.0.body.bn1.num_batches_tracked": torch.tensor(0),
    }
    drop = {"detr.query_embed.weight"}
    path = _release_file(golden_dir, "seqformer_r101", tmp_path, drop=drop, extra=extra)
    assert main(["check-checkpoint", str(path), "--method", "seqformer"]) == 1
    printed = capsys.readouterr().out
    assert "1 missing key(s):\n    detr.query_embed.weight" in printed
    assert "1 unexpected key(s):\n    detr.unknown.weight" in printed
    assert "detr.class_embed.0.weight (file (41, 256), model (42, 256))" in printed
    assert "MISMATCH" in printed


def test_check_checkpoint_options_override_what_is_read(golden_dir, tmp_path, capsys):
    path = _release_file(golden_dir, "seqformer_x101_64x4d", tmp_path)
    argv = ["check-checkpoint", str(path), "--method", "seqformer"]
    assert main([*argv, "--set", "backbone=resnext101_32x8d"]) == 1
    assert "33 mis-shaped key(s)" in capsys.readouterr().out


def test_check_checkpoint_of_a_missing_file_is_an_input_error(tmp_path, capsys):
    assert main(["check-checkpoint", str(tmp_path / "none.pth"), "--method", "ifc"]) == 2
    assert "not found" in capsys.readouterr().err


def test_check_checkpoint_builds_a_project_file_from_its_own_options(capsys):
    shipped = Path(__file__).resolve().parents[1] / "results" / "checkpoints"
    assert (
        main(["check-checkpoint", str(shipped / "seqformer_tiny.pth"), "--method", "seqformer"])
        == 0
    )
    out = capsys.readouterr().out
    assert "(vis-bench format)" in out and "'backbone': 'tiny'" in out
    assert main(["check-checkpoint", str(shipped / "ifc_tiny.pth"), "--method", "seqformer"]) == 2
    assert "checkpoint is for method 'ifc', not 'seqformer'" in capsys.readouterr().err
