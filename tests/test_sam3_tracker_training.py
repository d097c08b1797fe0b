"""Training SAM 3's tracker: clips of consecutive frames, the objects of the first frame born
from their masks and tracked through the inference code with SAM 2's loss, only the tracker
and its neck trained, and the output joined to a detector's into a `sam3` checkpoint."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
import torch

from tests.test_sam3_training import TINY
from tools.sam3_video_checkpoint import video_checkpoint
from vis_bench.api.registration import get_method
from vis_bench.api.training import ClipTargets
from vis_bench.cli import main
from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import read_project_checkpoint, save_project_checkpoint
from vis_bench.methods.sam3.detector_training.detector_plugin import Sam3DetectorTraining
from vis_bench.methods.sam3.detector_training.tracker_plugin import (
    TRAINED,
    Sam3TrackerTraining,
    consecutive_frames,
)

pytestmark = pytest.mark.usefixtures("one_thread")

PLUGIN_PATH = "vis_bench.methods.sam3.detector_training.tracker_plugin:Sam3TrackerTraining"
SMALL = {**TINY, "mem_dim": 8}


def _moving_squares() -> ClipTargets:
    """Two squares moving over 4 frames of 32 x 32; the second leaves on the last frame."""
    masks = torch.zeros(2, 4, 32, 32)
    for t in range(4):
        masks[0, t, 4 + t : 14 + t, 4:14] = 1
        if t < 3:
            masks[1, t, 18:28, 16 + t : 26 + t] = 1
    valid = masks.flatten(2).any(-1)
    return ClipTargets(torch.tensor([1, 2]), masks, torch.zeros(2, 4, 4), valid)


def test_clips_are_consecutive_frames_from_the_reference_or_the_videos_last():
    rng = np.random.default_rng(0)
    assert consecutive_frames(rng, 10, 4, 2) == [2, 3, 4, 5]
    assert consecutive_frames(rng, 10, 4, 8) == [6, 7, 8, 9]
    assert consecutive_frames(rng, 3, 5, 0) == [0, 1, 2, 2, 2]


def test_tracking_the_first_frames_objects_trains_only_the_tracker_and_its_neck():
    torch.manual_seed(0)
    plugin = Sam3TrackerTraining.build(SMALL)
    groups = plugin.parameter_groups(1e-3, 1.0)
    optimiser = torch.optim.AdamW([p for g in groups for p in g["params"]], lr=3e-3)
    frames = plugin.preprocess(torch.randint(0, 255, (4, 3, 32, 32), dtype=torch.uint8))
    targets = _moving_squares()
    before = {k: v.clone() for k, v in plugin.model.state_dict().items()}
    first = None
    for _ in range(12):
        losses = plugin.training_losses(frames, targets, 2.0)
        assert set(losses) == {"loss_mask", "loss_dice", "loss_iou", "loss_class"}
        first = first or {k: float(v.detach()) for k, v in losses.items()}
        optimiser.zero_grad()
        sum(losses.values()).backward()
        optimiser.step()
    # the object scores learn which object is present where (the second leaves at the end)
    assert float(losses["loss_class"].detach()) < first["loss_class"]
    changed = {k for k, v in plugin.model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(TRAINED) for k in changed)
    assert any(k.startswith("tracker.sam_mask_decoder.") for k in changed)
    assert any(k.startswith("tracker.maskmem_backbone.") for k in changed)
    assert set(plugin.trained_state_dict()) == {k for k in before if k.startswith(TRAINED)}


def test_a_trained_tracker_joins_a_detector_in_a_sam3_checkpoint(tmp_path):
    path = tmp_path / "tracker.yaml"
    path.write_text(
        f"method: '{PLUGIN_PATH}'\n"
        f"options: {SMALL}\n"
        f"dataset: {{kind: synthetic, videos: 3, seed: 4, min_frames: 5, max_frames: 6, "
        f"cache_dir: {tmp_path / 'cache'}}}\n"
        "clip: {frames: 3, scales: [32]}\n"
        "optim: {iterations: 2}\n"
        f"output: {tmp_path / 'tracker.pth'}\n"
        f"work_dir: {tmp_path / 'work'}\n"
    )
    assert main(["train", "--config", str(path), "--no-progress"]) == 0
    tracker = read_project_checkpoint(tmp_path / "tracker.pth")
    assert tracker.method == "sam3-tracker"
    assert tracker.state_dict and all(k.startswith(TRAINED) for k in tracker.state_dict)
    detector = Sam3DetectorTraining.build(TINY)
    options = asdict(detector.options)
    save_project_checkpoint(
        detector.model.state_dict(), tmp_path / "d.pth", "sam3-detector", options
    )
    video_checkpoint(tmp_path / "d.pth", tmp_path / "video.pth", tmp_path / "tracker.pth")
    saved = read_project_checkpoint(tmp_path / "video.pth")
    plugin = get_method("sam3").build(saved.config)
    report = plugin.load_checkpoint(str(tmp_path / "video.pth"))
    assert not report.missing and not report.unexpected and plugin.options.mem_dim == 8
    state = plugin.model.state_dict()
    for key, value in tracker.state_dict.items():
        assert torch.equal(state[key], value.half().float()), key
    with pytest.raises(InputError, match="another detector shape"):
        other = Sam3DetectorTraining.build({**TINY, "queries": 6})
        save_project_checkpoint(
            other.model.state_dict(), tmp_path / "o.pth", "sam3-detector", asdict(other.options)
        )
        video_checkpoint(tmp_path / "o.pth", tmp_path / "x.pth", tmp_path / "tracker.pth")


def test_the_tracker_starts_from_a_trained_detectors_file_and_the_joined_record_sums_both(
    tmp_path,
):
    """The video model has one trunk: a tracker trained for a detector whose trunk trained
    too starts from that detector's file (every `detector.*` tensor); the joined checkpoint's
    record holds both stages' steps and time and their totals."""
    from vis_bench.formats.checkpoints import CheckpointError

    torch.manual_seed(2)
    detector = Sam3DetectorTraining.build(TINY)
    weights = detector.model.state_dict()
    record = {"iterations": 5, "seconds": 2.5, "config": {"backbone_init": "trunk.pth"}}
    options = asdict(detector.options)
    save_project_checkpoint(weights, tmp_path / "d.pth", "sam3-detector", options, record)
    plugin = Sam3TrackerTraining.build(SMALL)
    plugin.start_training_from(str(tmp_path / "d.pth"))
    state = plugin.model.state_dict()
    trunk = "detector.backbone.vision_backbone.trunk.blocks.1.attn.qkv.weight"
    assert torch.equal(state[trunk], weights[trunk])
    partial = {k: v for k, v in weights.items() if k != trunk}
    save_project_checkpoint(partial, tmp_path / "p.pth", "sam3-detector", options)
    with pytest.raises(CheckpointError, match="cannot start the tracker"):
        Sam3TrackerTraining.build(SMALL).start_training_from(str(tmp_path / "p.pth"))

    path = tmp_path / "tracker.yaml"
    path.write_text(
        f"method: '{PLUGIN_PATH}'\n"
        f"options: {SMALL}\n"
        f"dataset: {{kind: synthetic, videos: 3, seed: 4, min_frames: 5, max_frames: 6, "
        f"cache_dir: {tmp_path / 'cache'}}}\n"
        "clip: {frames: 3, scales: [32]}\n"
        "optim: {iterations: 2}\n"
        f"init_checkpoint: {tmp_path / 'd.pth'}\n"
        f"output: {tmp_path / 'tracker.pth'}\n"
        f"work_dir: {tmp_path / 'work'}\n"
    )
    assert main(["train", "--config", str(path), "--no-progress"]) == 0
    video_checkpoint(tmp_path / "d.pth", tmp_path / "video.pth", tmp_path / "tracker.pth")
    joined = read_project_checkpoint(tmp_path / "video.pth").training
    tracker_seconds = joined["stages"]["tracker"]["seconds"]
    assert joined["iterations"] == 5 + 2 and joined["stages"]["tracker"]["iterations"] == 2
    assert joined["seconds"] == pytest.approx(2.5 + tracker_seconds, abs=0.1)
    assert joined["config"] == {"backbone_init": "trunk.pth"}

    # a run continuing the tracker starts from the joined file (no pooled CLIP projection)
    continuing = Sam3TrackerTraining.build(SMALL)
    continuing.start_training_from(str(tmp_path / "video.pth"))
    started = continuing.model.state_dict()
    for key, value in read_project_checkpoint(tmp_path / "tracker.pth").state_dict.items():
        assert torch.equal(started[key], value.half().float()), key

    # a tracker that continued from earlier runs: each run's steps and time count, oldest first
    video_checkpoint(
        tmp_path / "d.pth",
        tmp_path / "continued.pth",
        tmp_path / "tracker.pth",
        earlier_trackers=[tmp_path / "video.pth", tmp_path / "tracker.pth"],
    )
    continued = read_project_checkpoint(tmp_path / "continued.pth").training
    assert list(continued["stages"]) == ["detector", "tracker_1", "tracker_2", "tracker"]
    assert continued["iterations"] == 5 + 3 * 2
    assert continued["seconds"] == pytest.approx(2.5 + 3 * tracker_seconds, abs=0.2)
    with pytest.raises(InputError, match="no tracker's training record"):
        video_checkpoint(
            tmp_path / "d.pth",
            tmp_path / "x.pth",
            tmp_path / "tracker.pth",
            None,
            [tmp_path / "d.pth"],
        )
