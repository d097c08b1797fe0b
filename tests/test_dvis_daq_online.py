"""DVIS-DAQ online against the fixtures made with the authors' code, its key lists, and the
dynamic-anchor tracker's bookkeeping (births, kept-invalid tracks, kick-out, the noise filter,
the position fusion) on small made-up cases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from vis_bench.api import InputError
from vis_bench.api.registration import get_method
from vis_bench.api.state_dict_keys import key_list, meta_model
from vis_bench.methods.dvis_daq_online.parity import run_parity
from vis_bench.methods.families.dvis_daq.decisions import TrackedFrame, update_hub
from vis_bench.methods.families.dvis_daq.sequences import InstanceSequence, SequenceHub
from vis_bench.methods.families.dvis_daq.tracker import match_slots
from vis_bench.methods.families.dvis_daq.video import kept_sequences

pytestmark = pytest.mark.usefixtures("one_thread")

#: a DVIS-DAQ network small enough for a unit test (tiny backbone, 6 queries, 32 channels)
TINY = {
    "backbone": "tiny",
    "num_classes": 3,
    "num_queries": 6,
    "hidden_dim": 32,
    "conv_dim": 32,
    "mask_dim": 32,
    "nheads": 4,
    "dim_feedforward": 64,
    "enc_layers": 1,
    "dec_layers": 3,
    "reid_hidden_dim": 32,
    "tracker_layers": 2,
    "num_slots": 3,
}


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "dvis_daq_online" / "public"


def test_parity_passes_on_the_public_fixture(golden_dir):
    report = run_parity(_fixture(golden_dir))
    assert report.passed, report.format()
    names = {check.name for check in report.checks}
    assert {
        "segmenter[0].pred_embds",
        "tracker[1].frame_queries_pos",
        "tracker[1].slot_outputs_last",
        "tracker[4].valid_queries",
        "tracker[4].sequences",
        "tracker[4].tracks",
        "tracker.slot_matching[3].slot_init_query_index",
        "tracker (replayed)[4].ms_outputs_class",
        "video_outputs.pred_masks",
        "final.pred_masks",
        "synthetic_permuted.final.pred_scores",
        "harness T=1 S=1.pred_scores",
        "harness T=3 S=2.pred_masks",
    } <= names


def test_a_changed_anchor_weight_fails_parity(golden_dir, tmp_path):
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "state_dict.pt"
    path.chmod(0o644)
    state = torch.load(path, weights_only=True)
    state["tracker.new_ins_embeds.weight"] += 0.05
    torch.save(state, path)
    report = run_parity(fixture)
    failed = {check.name for check in report.checks if not check.passed}
    assert "tracker[1].ms_outputs" in failed
    assert "tracker[0].ms_outputs" not in failed  # the first frame has no anchors


def test_fixtures_of_other_methods_are_refused(golden_dir, tmp_path):
    with pytest.raises(InputError, match="DVIS-DAQ online"):
        run_parity(golden_dir / "dvis_plus_online" / "public")
    other = tmp_path / "offline"
    other.mkdir()
    meta = json.loads((_fixture(golden_dir) / "meta.json").read_text())
    (other / "meta.json").write_text(json.dumps({**meta, "variant": "offline"}))
    with pytest.raises(InputError, match="variant 'offline'"):
        run_parity(other)


def test_anchors_must_equal_the_queries(golden_dir, tmp_path):
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "meta.json"
    path.chmod(0o644)
    meta = json.loads(path.read_text())
    at = meta["overrides"].index("MODEL.VIDEO_HEAD.NUM_NEW_INS")
    meta["overrides"][at + 1] = "12"
    path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="NUM_NEW_INS 12"):
        run_parity(fixture)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("online_r50_ytvis19", {"backbone": "resnet50", "num_classes": 40}),
        ("online_r50_ovis", {"backbone": "resnet50", "num_classes": 25}),
        ("online_vitl_ytvis19", {"backbone": "vit_l", "num_classes": 40}),
        ("online_vitl_ovis", {"backbone": "vit_l", "num_classes": 25}),
        ("online_swinl_ytvis19", {"backbone": "swin_l", "num_classes": 40}),
        ("online_swinl_ovis", {"backbone": "swin_l", "num_classes": 25}),
    ],
)
def test_key_lists_equal_the_authors(golden_dir, name, options):
    expected = json.loads((golden_dir / "dvis_daq" / f"state_dict_keys_{name}.json").read_text())
    model = meta_model("dvis-daq-online", options)
    assert key_list(model.state_dict()) == expected


def test_every_release_builds_the_key_list_of_its_config(golden_dir):
    from vis_bench.methods.dvis_daq_online.variants import VARIANTS

    runnable = [v for v in VARIANTS if not v.unsupported]
    assert len(runnable) == 9 and sum(1 for v in VARIANTS if v.unsupported) == 2
    for variant in runnable:
        backbone, dataset = variant.variant.split("_")
        name = f"online_{backbone}_{'ovis' if dataset == 'ovis' else 'ytvis19'}"
        path = golden_dir / "dvis_daq" / f"state_dict_keys_{name}.json"
        expected = json.loads(path.read_text())
        model = meta_model("dvis-daq-online", dict(variant.options))
        assert key_list(model.state_dict()) == expected, variant.name


def _frame(valid: list[bool], width: int = 4) -> TrackedFrame:
    n = len(valid)
    outputs = torch.arange(3 * n * width, dtype=torch.float32).reshape(3, n, 1, width)
    return TrackedFrame(
        outputs=outputs,
        logits=torch.zeros(3, n, 3),
        masks=torch.zeros(n, 2, 2),
        track_positions=None,
        anchor_positions=None,
        positions=torch.ones(n, 1, width),
        scores=torch.zeros(n),
        valid=torch.tensor(valid),
    )


def test_invalid_anchors_vanish_and_invalid_tracks_stay_until_kicked_out():
    hub = SequenceHub()
    update_hub(hub, _frame([True, False, True]), kick_out_frames=3)
    assert [s.start for s in hub.sequences] == [0, 0] and hub.tracks == [0, 1]
    # tracks 0 and 1, then 3 anchors: track 1 invalid, anchor 1 born
    update_hub(hub, _frame([True, False, False, True, False]), kick_out_frames=3)
    assert hub.tracks == [0, 1, 2] and hub.sequences[2].start == 1
    assert hub.sequences[1].appearance == [True, False]
    update_hub(hub, _frame([True, False, True, False, False, False]), kick_out_frames=3)
    assert hub.sequences[1].invalid_frames == 2 and not hub.sequences[1].dead
    update_hub(hub, _frame([True, False, True, False, False, False]), kick_out_frames=3)
    # the third invalid frame in a row kills it: not appended, no longer a track
    assert hub.sequences[1].dead and hub.sequences[1].num_frames == 3
    assert hub.tracks == [0, 2]


def test_sequences_keep_their_own_vectors_not_the_frames_tensors():
    """What a sequence keeps per frame is its own few vectors: a view of a row would hold the
    frame's outputs of every layer and every anchor for as long as the video lasts."""
    hub = SequenceHub()
    frame = _frame([True, False, True])
    update_hub(hub, frame, kick_out_frames=3)
    update_hub(hub, _frame([True, False, False, False, False]), kick_out_frames=3)
    kept = [
        t
        for s in hub.sequences
        for t in (*s.outputs, *s.logits, *s.recent_positions, s.fused_position, s.query)
    ]
    assert len(kept) > 10
    for tensor in kept:
        assert tensor.untyped_storage().nbytes() == tensor.numel() * tensor.element_size()
    assert torch.equal(hub.sequences[1].outputs[0], frame.outputs[-1, 2, 0])


def test_short_sequences_are_dropped_unless_they_reach_the_last_frame():
    hub = SequenceHub(frames=10)
    for index, (start, length) in enumerate([(0, 10), (2, 3), (7, 3), (0, 5)]):
        sequence = InstanceSequence(index, start, torch.zeros(2))
        sequence.logits = [torch.zeros(3)] * length
        hub.sequences.append(sequence)
    assert [s.index for s in kept_sequences(hub, noise_frames=5)] == [0, 2, 3]


def test_the_position_fuses_by_mean_cosine_to_the_previous_nine():
    sequence = InstanceSequence(0, 0, torch.zeros(2))
    sequence.update_position(torch.tensor([1.0, 0.0]))
    assert torch.equal(sequence.fused_position, torch.tensor([1.0, 0.0]))
    sequence.update_position(torch.tensor([0.0, 2.0]))  # cosine 0: beta 0, nothing moves
    assert torch.equal(sequence.fused_position, torch.tensor([1.0, 0.0]))
    sequence.update_position(torch.tensor([2.0, 0.0]))  # mean cosine 0.5
    assert torch.allclose(sequence.fused_position, torch.tensor([1.5, 0.0]))
    for _ in range(20):
        sequence.update_position(torch.tensor([-1.0, 0.0]))  # negative similarity: beta 0
    assert len(sequence.recent_positions) == 9


def test_slots_the_assignment_leaves_out_keep_their_cheapest_row():
    slots = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    rows = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    matching = match_slots(slots, rows)
    # slots 0 and 2 are assigned rows 0 and 1; slot 1 is left out and keeps its argmin, row 0
    assert matching.indices.tolist() == [0, 0, 1] and matching.cost.shape == (3, 2)


def test_clip_schedules_give_the_same_sequences():
    torch.manual_seed(0)
    plugin = get_method("dvis-daq-online").build({**TINY, "select_threshold": 0.2})
    frames = plugin.preprocess(torch.randint(0, 255, (6, 3, 64, 96), dtype=torch.uint8), 64)
    features = plugin.frame_features(frames)
    whole = plugin.infer_clip_features(features).state
    state = plugin.infer_clip_features(features[:2]).state
    state = plugin.infer_clip_features(features[1:4], state=state, seen=1).state
    state = plugin.infer_clip_features(features[4:], state=state).state
    assert state.frames == whole.frames == 6 and whole.sequences
    assert [(s.start, s.num_frames) for s in state.sequences] == [
        (s.start, s.num_frames) for s in whole.sequences
    ]
    for a, b in zip(state.sequences, whole.sequences, strict=True):
        assert torch.allclose(torch.stack(a.logits), torch.stack(b.logits), atol=1e-4)
    refinement = plugin.refine_video(whole)
    masks = plugin.refined_masks_features(features, refinement, list(range(6)))
    assert masks.shape[:2] == (len(refinement.slots), 6)


def test_a_release_file_is_recognised_and_its_options_read(golden_dir):
    from vis_bench.api.tables import looks_like

    for name, method in (
        ("online_r50_ovis", "dvis-daq-online"),
        ("online_swinl_ytvis19", "dvis-daq-online"),
        ("offline_vitl_ovis", "dvis-daq-offline"),
    ):
        entries = json.loads((golden_dir / "dvis_daq" / f"state_dict_keys_{name}.json").read_text())
        assert looks_like([key for key, _ in entries]) == method, name
    model = meta_model("dvis-daq-online", {"backbone": "resnet50", "num_classes": 25})
    options = get_method("dvis-daq-online").checkpoint_options(model.state_dict())
    assert options == {
        "backbone": "resnet50",
        "num_queries": 100,
        "num_classes": 25,
        "reid_hidden_dim": 256,
        "reid_layers": 3,
        "tracker_layers": 6,
        "num_slots": 5,
    }
