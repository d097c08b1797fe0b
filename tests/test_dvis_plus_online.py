"""DVIS++ online against the fixtures made with the authors' code, its key lists, its tracker's
state carried from clip to clip, and its matching."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from tests.helpers.dvis_other_fixture import write_other_fixture
from tests.helpers.dvis_tiny import TINY, released_keys
from vis_bench.api.registration import get_method
from vis_bench.api.state_dict_keys import key_list, meta_model
from vis_bench.methods.dvis_plus_online.parity import run_parity
from vis_bench.methods.families.dvis.inference import track_clip
from vis_bench.methods.families.dvis.noiser import EmbeddingMatcher, cosine_matching_cost

pytestmark = pytest.mark.usefixtures("one_thread")


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "dvis_plus_online" / "public"


def test_parity_passes_on_the_public_fixture(golden_dir):
    report = run_parity(_fixture(golden_dir))
    assert report.passed, report.format()
    names = {check.name for check in report.checks}
    assert {
        "tracker[1].last_outputs",
        "tracker.matching[4].indices",
        "synthetic_permuted.permutations undone",
        "final.pred_masks",
        "harness T=1 S=1.pred_scores",
        "harness T=3 S=2.pred_masks",
    } <= names


def test_parity_runs_a_fixture_set_with_other_settings(golden_dir, tmp_path):
    """Classes, queries, widths, depths, heads, window, length and input size all differ from
    the public set's: every size comes from the fixture."""
    write_other_fixture(golden_dir, tmp_path / "other", "online")
    report = run_parity(tmp_path / "other")
    assert report.passed, report.format()
    assert "synthetic_permuted.permutations undone" in {check.name for check in report.checks}


def test_a_changed_tracker_weight_fails_parity(golden_dir, tmp_path):
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "state_dict.pt"
    path.chmod(0o644)
    state = torch.load(path, weights_only=True)
    state["tracker.ref_proj.layers.2.bias"] += 0.05
    torch.save(state, path)
    report = run_parity(fixture)
    assert not report.passed
    failed = {check.name for check in report.checks if not check.passed}
    assert "tracker[0].pred_references" in failed


def test_a_fixture_of_the_other_variant_is_refused(golden_dir):
    from vis_bench.api import InputError

    with pytest.raises(InputError, match="offline"):
        run_parity(golden_dir / "dvis_plus_offline" / "public")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("online_r50_ytvis19", {"backbone": "resnet50", "num_classes": 40}),
        ("online_r50_ovis", {"backbone": "resnet50", "num_classes": 25}),
        # the shared ViT-Adapter-L (530 backbone keys), 200 queries, 1024 channels per level
        ("online_vitl_ytvis19", {"backbone": "vit_l", "num_classes": 40}),
    ],
)
def test_key_lists_equal_the_authors(golden_dir, name, options):
    model = meta_model("dvis-plus-online", options)
    assert key_list(model.state_dict()) == released_keys(golden_dir, name)


def test_the_vit_l_segmenter_trains_the_adapter_and_keeps_the_vit_frozen():
    with torch.device("meta"):
        plugin = get_method("dvis-plus-online").build(
            {"backbone": "vit_l", "train_stage": "segmenter"}
        )
    groups = plugin.parameter_groups(1e-4, 0.1)
    trained = {id(p) for group in groups for p in group["params"]}
    backbone = plugin.model.backbone
    assert not any(id(p) in trained for p in backbone.vit_module.parameters())
    assert all(id(p) in trained for p in backbone.spm.parameters())


def test_the_ctvis_segmenter_loads_into_the_segmenter_by_name(golden_dir, tmp_path):
    expected = released_keys(golden_dir, "ctvis_r50_ytvis19")
    model = meta_model("dvis-plus-online", {"backbone": "resnet50"})
    segmenter = [e for e in key_list(model.state_dict()) if not e[0].startswith("tracker.")]
    assert segmenter == expected
    plugin = get_method("dvis-plus-online").build(TINY)
    other = get_method("dvis-plus-online").build(TINY)
    state = {k: v for k, v in other.model.state_dict().items() if not k.startswith("tracker.")}
    path = tmp_path / "ctvis.pth"
    torch.save({"model": state}, path)
    tracker_before = plugin.model.tracker.class_embed.weight.clone()
    report = plugin.load_segmenter(str(path))
    assert report.clean and report.loaded == len(state)
    pixel = "sem_seg_head.predictor.reid_embed.layers.0.weight"
    assert torch.equal(plugin.model.state_dict()[pixel], state[pixel])
    assert torch.equal(plugin.model.tracker.class_embed.weight, tracker_before)


def test_the_matching_cost_is_one_minus_cosine_with_nan_as_zero():
    previous = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    current = torch.tensor([[0.0, 2.0], [3.0, 0.0]])
    cost = cosine_matching_cost(previous, current)
    # rows = previous tracks, columns = current queries; a zero vector gives 1 - 0 = 1, not NaN
    assert torch.allclose(cost, torch.tensor([[1.0, 0.0], [1.0, 1.0]]), atol=1e-5)
    nan = cosine_matching_cost(torch.tensor([[float("nan"), 1.0]]), current)
    assert torch.equal(nan, torch.zeros(1, 2))
    assert EmbeddingMatcher()(previous, current).indices.tolist() == [1, 0]


def test_tracking_clip_by_clip_equals_tracking_the_whole_video():
    torch.manual_seed(0)
    plugin = get_method("dvis-plus-online").build(TINY)
    frames = plugin.preprocess(torch.randint(0, 255, (5, 3, 64, 96), dtype=torch.uint8), 64)
    with torch.no_grad():
        queries = plugin.model.segment(plugin.model.per_frame(frames))
        whole, _ = track_clip(plugin.model.tracker, queries, None)
        first, state = track_clip(plugin.model.tracker, queries.frames(0, 2), None)
        # frames 1..3: frame 1 seen before, restarted from the state it started from then
        second, state = track_clip(plugin.model.tracker, queries.frames(1, 4), state, seen=1)
        third, _ = track_clip(plugin.model.tracker, queries.frames(4), state)
    joined = torch.cat([first.outputs, second.outputs[1:], third.outputs])
    assert torch.allclose(joined, whole.outputs, atol=1e-6)
    assert torch.equal(second.outputs[0], first.outputs[1])


def test_infer_clip_of_a_tiny_model_returns_every_track_and_its_state():
    torch.manual_seed(0)
    plugin = get_method("dvis-plus-online").build(TINY)
    frames = plugin.preprocess(torch.randint(0, 255, (3, 3, 100, 150), dtype=torch.uint8), 96)
    result = plugin.infer_clip(frames)
    assert result.mask_logits.shape == (6, 3, 24, 40)
    assert result.frame_logits.shape == (3, 6, 4) and result.frame_embeddings.shape == (3, 6, 64)
    assert len(result.state.entering) == 3 and result.state.entering[0] is None
    # the clip's two frames were covered before: each restarts from the state it started from
    again = plugin.infer_clip(frames[1:], state=result.state, seen=2)
    assert torch.allclose(again.frame_logits, result.frame_logits[1:], atol=1e-5)
    predictions = plugin.video_predictions(result.frame_logits.mean(0))
    assert len(predictions) == 10 and all(1 <= c <= 3 for _, c, _ in predictions)
