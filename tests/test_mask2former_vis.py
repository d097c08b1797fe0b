"""Mask2Former-VIS against the fixtures made with the authors' code, and its plugin's contract."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from vis_bench.api import InputError
from vis_bench.api.registration import get_method
from vis_bench.api.state_dict_keys import key_list, meta_model
from vis_bench.cli import main
from vis_bench.methods.common.detectron2_input import pad_frames, padded_size
from vis_bench.methods.families.mask2former.postprocess import top_predictions
from vis_bench.methods.mask2former_vis.parity import run_parity

pytestmark = pytest.mark.usefixtures("one_thread")


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "mask2former_vis" / "public"


def test_parity_passes_on_the_public_fixture(golden_dir, tmp_path):
    report = run_parity(_fixture(golden_dir), tmp_path / "out.pt")
    assert report.passed, report.format()
    names = {check.name for check in report.checks}
    assert {"pred_logits", "pred_masks", "aux_outputs.2.pred_masks"} <= names
    assert "harness_path.pred_masks" in names
    assert (tmp_path / "out.pt").is_file()


def test_parity_command(golden_dir, capsys):
    code = main(["parity", "--method", "mask2former-vis", "--fixture", str(_fixture(golden_dir))])
    assert code == 0
    assert "PASS" in capsys.readouterr().out


def test_a_changed_weight_fails_parity(golden_dir, tmp_path):
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "state_dict.pt"
    path.chmod(0o644)
    state = torch.load(path, weights_only=True)
    state["sem_seg_head.predictor.query_embed.weight"][0, 0] += 0.5
    torch.save(state, path)
    assert not run_parity(fixture).passed


def test_a_missing_expected_file_fails_parity(golden_dir, tmp_path):
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    (fixture / "postprocess.pt").unlink()
    report = run_parity(fixture)
    assert not report.passed
    assert report.missing_files == ["postprocess.pt"]


def test_a_fixture_of_another_method_is_refused(golden_dir, tmp_path):
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    meta = json.loads((fixture / "meta.json").read_text())
    meta["meta_architecture"] = "VideoMaskFormer_frame"
    (fixture / "meta.json").chmod(0o644)
    (fixture / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="meta_architecture"):
        run_parity(fixture)


@pytest.mark.parametrize(("backbone", "name"), [("resnet50", "r50"), ("swin_l", "swinl")])
def test_key_lists_equal_the_authors(golden_dir, backbone, name):
    expected = json.loads((golden_dir / f"mask2former_vis/state_dict_keys_{name}.json").read_text())
    model = meta_model("mask2former-vis", {"backbone": backbone})
    assert key_list(model.state_dict()) == expected


def test_a_release_format_checkpoint_loads_strictly(golden_dir, tmp_path):
    """A `{"model": ...}` file with the authors' R50 key list (random values) loads strictly."""
    plugin = get_method("mask2former-vis").build({"backbone": "resnet50"})
    keys = json.loads((golden_dir / "mask2former_vis/state_dict_keys_r50.json").read_text())
    release = {key: torch.randn(shape) for key, shape in keys}
    path = tmp_path / "model_final.pth"
    torch.save({"model": release, "iteration": 6000}, path)
    report = plugin.load_checkpoint(str(path))
    assert not report.partial
    options = plugin.checkpoint_options(release)
    assert options == {"backbone": "resnet50", "num_queries": 100, "num_classes": 40}
    weight = plugin.model.sem_seg_head.predictor.query_feat.weight
    assert torch.equal(weight, release["sem_seg_head.predictor.query_feat.weight"])


def test_swin_l_follows_its_released_config():
    options = get_method("mask2former-vis").parse_options({"backbone": "swin_l"})
    assert (options.num_queries, options.min_size_test) == (200, 480)
    options = get_method("mask2former-vis").parse_options({})
    assert (options.num_queries, options.min_size_test, options.backbone) == (100, 360, "resnet50")


def test_topk_keeps_ten_unsorted_pairs_and_repeats_queries():
    logits = torch.full((4, 6), -10.0)
    logits[0, :5] = 5.0  # query 0 is confident about every class
    logits[1, 2] = 8.0
    top = top_predictions(logits, 10)
    assert len(top.scores) == 10
    assert (top.queries == 0).sum() == 5
    assert {(int(q), int(c)) for q, c in zip(top.queries, top.labels, strict=True)} >= {(1, 2)}
    # fewer pairs than 10: all of them
    assert len(top_predictions(torch.zeros(2, 3), 10).scores) == 4


def test_padding_to_a_multiple_of_32():
    frames = torch.ones(2, 3, 90, 120)
    padded = pad_frames(frames)
    assert padded.shape[-2:] == padded_size(90, 120) == (96, 128)
    assert padded[..., 90:, :].abs().sum() == 0 and padded[..., :, 120:].abs().sum() == 0


def test_infer_clip_of_a_tiny_model_gives_the_harness_what_it_needs():
    torch.manual_seed(0)
    plugin = get_method("mask2former-vis").build(
        {
            "backbone": "tiny",
            "num_classes": 3,
            "num_queries": 6,
            "hidden_dim": 64,
            "conv_dim": 64,
            "mask_dim": 64,
            "dim_feedforward": 128,
            "enc_layers": 1,
            "dec_layers": 3,
        }
    )
    frames = plugin.preprocess(torch.randint(0, 255, (3, 3, 100, 150), dtype=torch.uint8), 96)
    result = plugin.infer_clip(frames)
    assert len(result) == 10
    assert result.mask_logits.shape == (10, 3, 24, 40)  # stride 4 of the padded 96 x 160 input
    assert int(result.labels.min()) >= 1 and int(result.labels.max()) <= 3
    masks = plugin.masks_to_video(result.mask_logits[:, 0], 100, 150, 0.0)
    assert masks.shape == (10, 100, 150)
