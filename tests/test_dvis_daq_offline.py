"""DVIS-DAQ offline against the fixtures made with the authors' code, its key lists, and how the
refiner's instances are gathered (the top-k of the tracked sequences, the naive link's fill)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from vis_bench.api import InputError
from vis_bench.api.registration import get_method
from vis_bench.api.state_dict_keys import key_list, meta_model
from vis_bench.methods.dvis_daq_offline.instances import (
    GatheredVideo,
    link_cost,
    naive_link,
    refiner_inputs,
)
from vis_bench.methods.dvis_daq_offline.parity import run_parity
from vis_bench.methods.families.dvis_daq.sequences import InstanceSequence, SequenceHub

pytestmark = pytest.mark.usefixtures("one_thread")


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "dvis_daq_offline" / "public"


def test_parity_passes_on_the_public_fixture(golden_dir):
    report = run_parity(_fixture(golden_dir))
    assert report.passed, report.format()
    names = {check.name for check in report.checks}
    assert {
        "tracker[1].fg_trc_queries_scores",
        "tracker[4].valid_queries",
        "common_out.instance_embeds",
        "common_out.seq_id_list",
        "topk_calls[0].indices (order)",
        "naive_link_matching[3].indices",
        "refiner.pred_logits",
        "refiner.pred_masks",
        "final.pred_masks",
        "synthetic_permuted.naive link undoes the permutations",
        "synthetic_permuted.refiner_pred_logits",
        "harness T=3 S=2.pred_scores",
    } <= names


def test_a_changed_refiner_weight_fails_parity(golden_dir, tmp_path):
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "state_dict.pt"
    path.chmod(0o644)
    state = torch.load(path, weights_only=True)
    state["refiner.class_embed.bias"][0] += 1.0
    torch.save(state, path)
    report = run_parity(fixture)
    failed = {check.name for check in report.checks if not check.passed}
    assert "refiner.pred_logits" in failed and "tracker[4].valid_queries" not in failed


def test_the_online_fixture_is_refused(golden_dir):
    with pytest.raises(InputError, match="variant 'online'"):
        run_parity(golden_dir / "dvis_daq_online" / "public")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("offline_r50_ovis", {"backbone": "resnet50"}),
        ("offline_vitl_ytvis19", {"backbone": "vit_l", "num_classes": 40}),
        # USE_LOCAL_ATTN: the refiner's temporal convolution (36 more keys)
        ("offline_vitl_ovis", {"backbone": "vit_l", "local_attention": True}),
    ],
)
def test_key_lists_equal_the_authors(golden_dir, name, options):
    expected = json.loads((golden_dir / "dvis_daq" / f"state_dict_keys_{name}.json").read_text())
    model = meta_model("dvis-daq-offline", options)
    assert key_list(model.state_dict()) == expected


def test_every_release_builds_its_configs_network(golden_dir):
    from vis_bench.methods.dvis_daq_offline.variants import VARIANTS

    lists = {
        "r50_ovis": "offline_r50_ovis",
        "vitl_ovis": "offline_vitl_ovis",
        "vitl_ytvis19": "offline_vitl_ytvis19",
    }
    assert sorted(v.variant for v in VARIANTS) == sorted([*lists, "vitl_ytvis21"])
    for variant in VARIANTS:
        model = meta_model("dvis-daq-offline", dict(variant.options))
        keys = key_list(model.state_dict())
        if variant.variant in lists:
            path = golden_dir / "dvis_daq" / f"state_dict_keys_{lists[variant.variant]}.json"
            assert keys == json.loads(path.read_text()), variant.name
        else:  # YouTube-VIS 2021 ViT-L: USE_LOCAL_ATTN as OVIS's, 40 classes
            assert any(k.startswith("refiner.conv_norms.") for k, _ in keys)


def _sequence(index: int, start: int, length: int, logit: float) -> InstanceSequence:
    sequence = InstanceSequence(index, start, torch.zeros(2))
    sequence.outputs = [torch.full((2,), float(index))] * length
    sequence.logits = [torch.tensor([logit, 0.0])] * length
    sequence.fused_position = torch.tensor([-1.0, -1.0])
    return sequence


def test_the_refiner_reads_the_best_tracked_sequences_then_the_naive_link():
    hub = SequenceHub(frames=4)
    hub.sequences = [
        _sequence(0, 0, 4, 1.0),
        _sequence(1, 1, 3, 3.0),  # reaches the last frame: kept though short
        _sequence(2, 0, 2, 9.0),  # short and ended: dropped
        _sequence(3, 0, 4, 2.0),
    ]
    embeds = torch.randn(4, 5, 2)
    logits = torch.randn(4, 5, 2)
    video = GatheredVideo(hub, list(embeds), list(logits))
    inputs = refiner_inputs(video, instances=5, top_k=2, noise_frames=4)
    tracked = [s.index for s in inputs.sequences if s is not None]
    assert sorted(tracked) == [1, 3] and inputs.linked.count(-1) == 2
    assert len(inputs.linked) == 5 and inputs.instance_embeds.shape == (4, 5, 2)
    late = inputs.sequences.index(hub.sequences[1])
    # padded before its start by its fused position, its outputs after
    assert inputs.instance_embeds[0, late].tolist() == [-1.0, -1.0]
    assert inputs.instance_embeds[1, late].tolist() == [1.0, 1.0]
    assert inputs.padding[late].tolist() == [True, False, False, False]
    every = refiner_inputs(video, instances=5, top_k=5, noise_frames=4)
    assert [s.index for s in every.sequences if s is not None] == [0, 1, 3]  # birth order
    # more kept sequences than instances: all of them go in, no naive link
    few = refiner_inputs(video, instances=2, top_k=5, noise_frames=4)
    assert few.linked == [-1, -1, -1] and few.padding.shape == (3, 4) and few.naive is None


def test_the_naive_link_follows_permuted_queries():
    torch.manual_seed(0)
    embeds = torch.randn(1, 6, 8).expand(3, -1, -1).clone()
    perms = [torch.arange(6), torch.randperm(6), torch.randperm(6)]
    shuffled = torch.stack([embeds[t][perms[t]] for t in range(3)])
    link = naive_link(shuffled, torch.zeros(3, 6, 3))
    for t in range(3):
        assert torch.equal(perms[t][link.order[t]], torch.arange(6))
    assert torch.allclose(link_cost(embeds[0], embeds[0]).diagonal(), torch.zeros(6), atol=1e-6)


def test_clip_schedules_give_the_same_refined_results():
    torch.manual_seed(0)
    options = {
        "backbone": "tiny", "num_classes": 3, "num_queries": 6, "hidden_dim": 32,
        "conv_dim": 32, "mask_dim": 32, "nheads": 4, "dim_feedforward": 64, "enc_layers": 1,
        "dec_layers": 3, "reid_hidden_dim": 32, "tracker_layers": 2, "num_slots": 3,
        "refiner_layers": 2, "offline_top_k": 2,
    }  # fmt: skip
    plugin = get_method("dvis-daq-offline").build(options)
    frames = plugin.preprocess(torch.randint(0, 255, (6, 3, 64, 96), dtype=torch.uint8), 64)
    features = plugin.frame_features(frames)
    whole = plugin.refine_video(plugin.infer_clip_features(features).state)
    state = plugin.infer_clip_features(features[:4]).state
    state = plugin.infer_clip_features(features[2:], state=state, seen=2).state
    clipped = plugin.refine_video(state)
    assert [p[:2] for p in clipped.predictions] == [p[:2] for p in whole.predictions]
    pairs = zip(clipped.predictions, whole.predictions, strict=True)
    assert max(abs(a[2] - b[2]) for a, b in pairs) < 1e-4
    masks = plugin.refined_masks_features(features, whole, list(range(6)))
    assert masks.shape[:2] == (len(whole.slots), 6)
