"""DVIS-DAQ's training: the tracker (online) and the refiner (offline), each over a frozen
DVIS++ segmenter, with the authors' matchers, track decisions and criterion."""

from __future__ import annotations

import math

import pytest
import torch

import vis_bench.methods.dvis_daq_offline.plugin  # noqa: F401  (registers the method)
import vis_bench.methods.dvis_daq_online.plugin  # noqa: F401
from tests.helpers.dvis_tiny import TINY
from vis_bench.api import InputError
from vis_bench.api.registration import get_method
from vis_bench.api.training import ClipTargets
from vis_bench.config import DatasetConfig
from vis_bench.formats.checkpoints import (
    CheckpointError,
    open_checkpoint,
    read_checkpoint,
    save_project_checkpoint,
)
from vis_bench.methods.families.dvis_daq.training import (
    FIRST_PHASE,
    SECOND_PHASE,
    Supervised,
    TrackerTraining,
    TrackState,
    branch_losses,
    continuing,
    daq_criterion,
    frame_assignment,
    hidden_queries,
    new_instance_indices,
    short_clip,
)
from vis_bench.methods.families.mask2former.matcher import VideoTargets
from vis_bench.train.config import ClipConfig, OptimConfig, TrainConfig
from vis_bench.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")

#: the offline options a refiner can train with (YouTube-VIS's decisions, 40 % of 6 queries)
OFFLINE = {"refiner_layers": 2, "slot_decides": False, "select_threshold": 0.01, "offline_top_k": 2}


def _plugin(name: str, stage: str, **extra):
    torch.manual_seed(0)
    return get_method(name).build({**TINY, "train_stage": stage, **extra})


def _clip(frames: int = 4) -> tuple[torch.Tensor, ClipTargets]:
    """Five squares: the second appears in frame 1, the fifth leaves after frame 1."""
    images = torch.randint(0, 255, (frames, 3, 64, 64), dtype=torch.uint8)
    masks = torch.zeros(5, frames, 64, 64)
    for k in range(5):
        masks[k, :, 4 + 11 * k : 12 + 11 * k, 4 + 11 * k : 14 + 11 * k] = 1
    masks[1, 0] = 0
    masks[4, 2:] = 0
    valid = masks.flatten(2).any(-1)
    boxes = torch.full((5, frames, 4), 0.5)
    return images, ClipTargets(torch.tensor([1, 3, 2, 1, 2]), masks, boxes, valid)


def _step(plugin, iteration: int) -> tuple[dict[str, torch.Tensor], set[str]]:
    """One clip's losses at `iteration` of 10, back-propagated: the losses and the model parts
    that got a gradient among those the optimiser trains."""
    plugin.model.train()
    groups = plugin.parameter_groups(1e-4, 0.1)
    plugin.training_step(iteration, 10)
    images, targets = _clip()
    losses = plugin.training_losses(plugin.preprocess(images, 64), targets, 5.0)
    sum(losses.values()).backward()
    assert all(math.isfinite(float(v.detach())) for v in losses.values())
    trained = {id(p) for group in groups for p in group["params"]}
    parts = {
        name.split(".")[0]
        for name, p in plugin.model.named_parameters()
        if id(p) in trained and p.grad is not None and bool(p.grad.abs().sum() > 0)
    }
    return losses, parts


@pytest.mark.parametrize("iteration", [0, 9])
def test_the_tracker_stage_trains_the_tracker_and_its_slots_only(iteration):
    plugin = _plugin("dvis-daq-online", "tracker", training_select_threshold=0.0)
    losses, parts = _step(plugin, iteration)
    assert plugin.phase == (FIRST_PHASE if iteration == 0 else SECOND_PHASE)
    layers = TINY["tracker_layers"]
    names = {f"{n}{s}" for n in ("loss_ce", "loss_mask", "loss_dice") for s in ["", "_0", "_1"]}
    slot = {f"slot_{n}{s}" for n in ("loss_ce", "loss_mask", "loss_dice") for s in ["", "_0"]}
    assert set(losses) == names | slot  # input queries + 2 layers; the slots' 2 layers
    assert layers == 2 and parts == {"tracker"}
    assert all(p.grad is None for p in plugin.model.sem_seg_head.parameters())
    slot_params = plugin.model.tracker.slot_cross_attention_layers.parameters()
    assert any(p.grad is not None for p in slot_params)


@pytest.mark.parametrize("iteration", [0, 9])
def test_the_refiner_stage_trains_the_refiner_only(iteration):
    plugin = _plugin("dvis-daq-offline", "refiner", **OFFLINE)
    losses, parts = _step(plugin, iteration)
    assert plugin.guided == (iteration < 5)
    assert {"loss_ce", "loss_mask", "loss_dice", "loss_ce_0"} <= set(losses)
    assert parts == {"refiner"}


def test_the_refiner_refuses_the_ovis_track_decision():
    plugin = _plugin("dvis-daq-offline", "refiner", refiner_layers=1, offline_top_k=2)
    images, targets = _clip()
    with pytest.raises(InputError, match="slot_decides"):
        plugin.training_losses(plugin.preprocess(images, 64), targets, 5.0)


def test_each_method_trains_its_own_part_only():
    with pytest.raises(InputError, match="train_stage"):
        get_method("dvis-daq-online").build({**TINY, "train_stage": "refiner"})
    with pytest.raises(InputError, match="train_stage"):
        get_method("dvis-daq-offline").build({**TINY, "train_stage": "tracker"})


def _criterion():
    return daq_criterion(3, TrackerTraining(num_points=64), layers=1)


def _squares() -> VideoTargets:
    """Three instances of one frame: squares at the top left, centre, bottom right of 8x8."""
    masks = torch.zeros(3, 1, 8, 8)
    masks[0, 0, :3, :3] = 1
    masks[1, 0, 3:5, 3:5] = 1
    masks[2, 0, 5:, 5:] = 1
    return VideoTargets(torch.tensor([0, 1, 2]), masks)


def _drawing(rows: list[int], instances: list[int], queries: int) -> torch.Tensor:
    """Mask logits [queries, 8, 8]: query rows[i] draws instance instances[i], the rest nothing."""
    target = _squares().masks[:, 0]
    masks = torch.full((queries, 8, 8), -9.0)
    for r, n in zip(rows, instances, strict=True):
        masks[r] = torch.where(target[n] > 0, 9.0, -9.0)
    return masks


def test_the_frame_matcher_leaves_absent_instances_and_names_each_query_s_nearest():
    logits = torch.full((5, 4), -9.0)
    logits[:, 3] = 9.0  # all "no object" but what is drawn
    masks = _drawing([1, 3], [0, 2], 5)
    logits[1, 0] = logits[3, 2] = 12.0
    present = torch.tensor([True, False, True])  # instance 1 absent from the frame
    assignment = frame_assignment(_criterion(), logits, masks, _squares(), present, 0.5)
    rows, cols = assignment.indices
    assert dict(zip(cols.tolist(), rows.tolist(), strict=True)) == {0: 1, 2: 3}
    assert assignment.auxiliary.tolist() == [-1, 0, -1, 2, -1]  # unmatched, unsure: none


def test_new_instances_are_assigned_among_the_anchors_only():
    # two tracks (rows 0, 1) then three anchors; track 0 holds instance 0, track 1 none
    logits = torch.zeros(5, 4)
    masks = _drawing([1, 4, 0], [2, 2, 0], 5)  # track 1 draws instance 2 best; anchor 4 too
    tracked = (torch.tensor([0]), torch.tensor([0]))
    present = torch.tensor([True, False, True])
    rows, cols = new_instance_indices(_criterion(), logits, masks, _squares(), present, tracked, 3)
    assert rows.tolist() == [0, 4] and cols.tolist() == [0, 2]
    nothing_new = torch.tensor([True, False, False])
    same = new_instance_indices(_criterion(), logits, masks, _squares(), nothing_new, tracked, 3)
    assert same is tracked


def test_which_queries_go_on_as_tracks():
    logits = torch.full((6, 3), -5.0)
    for q, score in enumerate([3.0, 1.0, 2.0, 0.5, -9.0, 4.0]):
        logits[q, 0] = score
    logits[:, 2] = 0.0
    indices = (torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 3]))
    # stage 2: the matched queries but the lower-scoring half (queries 1 and 3)
    assert continuing(logits, indices, FIRST_PHASE, 0.5).tolist() == [1, 0, 1, 0, 0, 0]
    scores = logits.softmax(-1)[:, :-1].max(-1).values
    expected = (scores > 0.5).tolist()
    assert continuing(logits, indices, SECOND_PHASE, 0.5).tolist() == expected


def test_a_tracked_instance_is_hidden_from_the_slots_in_stage_3_only():
    auxiliary = torch.tensor([0, 1, 1, -1, 2, 3])
    state = TrackState(torch.zeros(4, 2), [], (torch.arange(4), torch.tensor([0, 1, 2, 3])), None)
    torch.manual_seed(0)
    mask, instance = hidden_queries(state, auxiliary, SECOND_PHASE)
    assert instance in (0, 1, 2, 3) and mask.tolist() == (auxiliary == instance).tolist()
    assert hidden_queries(state, auxiliary, FIRST_PHASE) == (None, None)
    few = TrackState(torch.zeros(3, 2), [], (torch.arange(3), torch.tensor([0, 1, 2])), None)
    assert hidden_queries(few, auxiliary, SECOND_PHASE) == (None, None)


def test_an_instance_called_gone_is_no_object_and_has_no_mask_loss():
    criterion = _criterion()
    video = _squares()
    logits = torch.randn(1, 4, 4)
    masks = torch.randn(1, 4, 8, 8)
    indices = (torch.tensor([2]), torch.tensor([1]))
    kept = branch_losses(criterion, [Supervised(logits, masks, indices, [], 0)], video)
    gone = branch_losses(criterion, [Supervised(logits, masks, indices, [1], 0)], video)
    assert float(kept["loss_mask"]) > 0 and float(gone["loss_mask"]) == 0.0
    weight = criterion.empty_weight
    target = torch.full((4,), 3)
    expected = torch.nn.functional.cross_entropy(logits[0], target, weight)
    assert float(gone["loss_ce"]) == pytest.approx(float(expected), rel=1e-6)


def test_the_first_phase_takes_two_consecutive_frames_of_the_clip():
    images, targets = _clip(5)
    torch.manual_seed(0)
    frames, short = short_clip(images, targets, 2)
    assert frames.shape[0] == 2 and short.masks.shape[1] == 2
    start = [i for i in range(4) if torch.equal(images[i : i + 2], frames)]
    assert start and start[0] in (0, 1)  # the authors draw the start from 0..length-1
    assert torch.equal(short.valid, targets.valid[:, start[0] : start[0] + 2])


def _segmenter_file(tmp_path, classes: int = 3):
    """A DVIS++ segmenter stage's file (no tracker; its criterion named `criterion.`)."""
    options = {**TINY, "num_classes": classes, "train_stage": "segmenter"}
    dvis = get_method("dvis-plus-online").build(options)
    path = tmp_path / "segmenter.pth"
    state = dvis.trained_state_dict()
    save_project_checkpoint(state, path, "dvis-plus-online", {}, None, False)
    return path, dvis


def test_the_tracker_starts_from_a_dvis_plus_segmenter(tmp_path):
    path, dvis = _segmenter_file(tmp_path)
    plugin = _plugin("dvis-daq-online", "tracker")
    report = plugin.start_training_from(str(path))
    assert report.missing and all(k.startswith("tracker.") for k in report.missing)
    key = "sem_seg_head.predictor.query_feat.weight"
    assert torch.equal(plugin.model.state_dict()[key], dvis.model.state_dict()[key])
    with pytest.raises(CheckpointError, match="refiner stage"):
        _plugin("dvis-daq-offline", "refiner", **OFFLINE).start_training_from(str(path))


def test_tracker_then_refiner_train_over_the_segmenter_s_file(tmp_path):
    """Two steps of each stage through the trainer, each file holding only what it trained."""
    previous, _ = _segmenter_file(tmp_path, classes=8)
    dataset = DatasetConfig(
        kind="synthetic", videos=2, min_frames=5, max_frames=6, cache_dir=str(tmp_path / "c")
    )
    options = {**TINY, "num_classes": 8, "num_queries": 6, "training_select_threshold": 0.0}
    for method, stage, extra in (
        ("dvis-daq-online", "tracker", {}),
        ("dvis-daq-offline", "refiner", OFFLINE),
    ):
        config = TrainConfig(
            name=f"daq-{stage}",
            method=method,
            dataset=dataset,
            options={**options, "train_stage": stage, **extra},
            clip=ClipConfig(frames=3, scales=[64]),
            optim=OptimConfig(iterations=2),
            init_checkpoint=str(previous),
            output=str(tmp_path / f"{stage}.pth"),
            work_dir=str(tmp_path / f"work-{stage}"),
            checkpoint_every=2,
            changes_over_init=True,
        )
        assert train(config, progress=False, log=lambda _: None).iterations == 2
        previous = config.output
    stored = {
        stage: {k.split(".")[0] for k in read_checkpoint(tmp_path / f"{stage}.pth")["state_dict"]}
        for stage in ("tracker", "refiner")
    }
    assert stored == {"tracker": {"tracker", "daq_criterion"}, "refiner": {"refiner"}}
    offline = get_method("dvis-daq-offline").build(open_checkpoint(previous).config)
    offline.load_checkpoint(previous)  # strictly, through both bases
