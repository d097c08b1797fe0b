"""MinVIS against the fixtures made with the authors' code, and its frame linking."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from vis_bench.api.registration import get_method
from vis_bench.api.state_dict_keys import key_list, meta_model
from vis_bench.methods.minvis.matching import link_frames, match_to_previous
from vis_bench.methods.minvis.parity import run_parity

pytestmark = pytest.mark.usefixtures("one_thread")


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "minvis" / "public"


def test_parity_passes_on_the_public_fixture(golden_dir):
    report = run_parity(_fixture(golden_dir))
    assert report.passed, report.format()
    names = {check.name for check in report.checks}
    assert {
        "pred_embds",
        "matching.match_indices",
        "synthetic_permuted.permutations undone",
    } <= names


def test_a_changed_embedding_weight_fails_parity(golden_dir, tmp_path):
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "state_dict.pt"
    path.chmod(0o644)
    state = torch.load(path, weights_only=True)
    state["sem_seg_head.predictor.decoder_norm.weight"][0] += 0.5
    torch.save(state, path)
    assert not run_parity(fixture).passed


@pytest.mark.parametrize(("backbone", "name"), [("resnet50", "r50"), ("swin_l", "swinl")])
def test_key_lists_equal_the_authors(golden_dir, backbone, name):
    expected = json.loads((golden_dir / f"minvis/state_dict_keys_{name}.json").read_text())
    assert key_list(meta_model("minvis", {"backbone": backbone}).state_dict()) == expected


def test_linking_undoes_permutations_and_chains_frame_to_frame():
    torch.manual_seed(0)
    t, q, c = 4, 6, 8
    embeds = torch.randn(1, q, c).repeat(t, 1, 1) + 0.01 * torch.randn(t, q, c)
    perms = [torch.arange(q)] + [torch.randperm(q) for _ in range(t - 1)]
    shuffled = torch.stack([embeds[i][perms[i]] for i in range(t)])
    logits = torch.stack([torch.arange(q, dtype=torch.float)[:, None].repeat(1, 3)] * t)
    logits = torch.stack([logits[i][perms[i]] for i in range(t)])
    masks = logits[..., :1, None].expand(t, q, 2, 2).clone()
    linked = link_frames(logits, masks, shuffled)
    for i in range(1, t):
        assert torch.equal(perms[i][linked.indices[i - 1]], torch.arange(q))
    # every track carries one query's constant logits through the frames
    assert torch.equal(linked.logits, logits[0])
    assert linked.masks.shape == (q, t, 2, 2)


def test_matching_is_to_the_previous_frame():
    previous = torch.eye(3)
    current = torch.eye(3)[[2, 0, 1]]
    assert match_to_previous(previous, current).tolist() == [1, 2, 0]


def test_infer_clip_of_a_tiny_model():
    torch.manual_seed(0)
    plugin = get_method("minvis").build(
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
    # every query track, linked inside the clip, for the harness's query-track linker
    assert result.mask_logits.shape == (6, 3, 24, 40)
    assert result.frame_logits.shape == (3, 6, 4) and result.frame_embeddings.shape == (3, 6, 64)
    predictions = plugin.video_predictions(result.frame_logits.mean(0))
    assert len(predictions) == 10
    assert all(1 <= category <= 3 for _, category, _ in predictions)
