"""DVIS++'s staged training: each stage trains its part only, with the authors' objective."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.helpers.dvis_tiny import TINY
from vis_bench.api.registration import get_method
from vis_bench.api.training import ClipTargets
from vis_bench.config import DatasetConfig
from vis_bench.formats.checkpoints import (
    CheckpointError,
    open_checkpoint,
    read_checkpoint,
    save_project_checkpoint,
)
from vis_bench.methods.common.frame_sampling import ConsecutiveFrameSampler
from vis_bench.methods.families.dvis.contrastive import ContrastiveItem, contrastive_losses
from vis_bench.methods.families.dvis.noiser import Noiser
from vis_bench.methods.families.dvis.training import (
    StageLossConfig,
    consistent_indices,
    stage_criterion,
)
from vis_bench.methods.families.mask2former.matcher import VideoTargets
from vis_bench.train.config import ClipConfig, OptimConfig, TrainConfig
from vis_bench.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _plugin(name: str, stage: str, **extra):
    torch.manual_seed(0)
    return get_method(name).build({**TINY, "train_stage": stage, **extra})


def _clip(frames: int = 3) -> tuple[torch.Tensor, ClipTargets]:
    """Two squares, the second absent from the first frame."""
    images = torch.randint(0, 255, (frames, 3, 64, 64), dtype=torch.uint8)
    masks = torch.zeros(2, frames, 64, 64)
    masks[0, :, 8:24, 8:24] = 1
    masks[1, 1:, 30:50, 30:50] = 1
    valid = masks.flatten(2).any(-1)
    boxes = torch.full((2, frames, 4), 0.5)
    return images, ClipTargets(torch.tensor([1, 3]), masks, boxes, valid)


def _step(plugin, frames: int = 3) -> tuple[dict[str, torch.Tensor], dict[str, bool], set[int]]:
    """One clip's losses, back-propagated: the losses, which trained parts got a gradient, and
    the ids of the parameters the optimiser would train."""
    plugin.model.train()
    groups = plugin.parameter_groups(1e-4, 0.1)
    images, targets = _clip(frames)
    losses = plugin.training_losses(plugin.preprocess(images, 64), targets, 2.0)
    sum(losses.values()).backward()
    assert all(math.isfinite(float(v.detach())) for v in losses.values())
    trained = {id(p) for group in groups for p in group["params"]}
    grads = {
        name.split(".")[0]: p.grad is not None and bool(p.grad.abs().sum() > 0)
        for name, p in plugin.model.named_parameters()
        if id(p) in trained
    }
    return losses, grads, trained


def test_the_segmenter_stage_trains_the_segmenter_with_the_reid_terms():
    plugin = _plugin("dvis-plus-online", "segmenter")
    losses, grads, trained = _step(plugin)
    assert {"loss_ce", "loss_mask", "loss_dice", "loss_ce_0", "loss_reid", "loss_aux_reid"} <= set(
        losses
    )
    reid = plugin.model.sem_seg_head.predictor.reid_embed.layers[0].weight
    assert id(reid) in trained and reid.grad is not None
    assert not any(p.requires_grad for p in plugin.model.tracker.parameters())


@pytest.mark.parametrize("guided", [True, False])
def test_the_tracker_stage_trains_the_tracker_only(guided):
    plugin = _plugin("dvis-plus-online", "tracker")
    plugin.training_step(0 if guided else 9, 10)
    losses, grads, trained = _step(plugin, frames=4)
    assert {"loss_ce", "loss_mask", "loss_dice", "loss_ce_0", "loss_reid"} <= set(losses)
    assert "loss_aux_reid" not in losses  # the tracker's weight_dict drops it
    assert set(grads) == {"tracker"} and grads["tracker"]
    assert all(p.grad is None for p in plugin.model.sem_seg_head.parameters())


@pytest.mark.parametrize("guided", [True, False])
def test_the_refiner_stage_trains_the_refiner_only(guided):
    plugin = _plugin("dvis-plus-offline", "refiner", refiner_layers=2)
    plugin.training_step(0 if guided else 9, 10)
    losses, grads, _ = _step(plugin, frames=4)
    assert {"loss_ce", "loss_mask", "loss_dice", "loss_ce_0", "loss_reid"} <= set(losses)
    assert set(grads) == {"refiner"} and grads["refiner"]


def test_a_method_refuses_a_stage_it_has_no_part_for():
    from vis_bench.api import InputError

    with pytest.raises(InputError, match="train_stage"):
        get_method("dvis-plus-online").build({**TINY, "train_stage": "refiner"})


def test_the_clip_assignment_matches_each_instance_where_it_first_appears():
    criterion = stage_criterion(3, 1, 64, StageLossConfig())
    masks = torch.zeros(2, 3, 8, 8)
    masks[0, :, :4, :4] = 1
    masks[1, 2:, 4:, 4:] = 1  # appears in frame 2 only
    video = VideoTargets(torch.tensor([0, 1]), masks)
    logits = torch.zeros(3, 4, 4)
    pred = torch.full((3, 4, 2, 2), -9.0)
    pred[:2, 1, 0, 0] = 9.0  # query 1 draws instance 0 in frames 0 and 1
    pred[2, 1, 1, 1] = 9.0  # ... and instance 1 in frame 2: taken already, so another query
    pred[2, 3, 1, 1] = 9.0
    rows, cols = consistent_indices(criterion, logits, pred, video)
    assert dict(zip(cols.tolist(), rows.tolist(), strict=True)) == {0: 1, 1: 3}


def test_the_contrastive_loss_is_the_authors():
    anchor = torch.tensor([1.0, 0.0])
    candidates = torch.tensor([[2.0, 0.0], [0.5, 0.5], [-1.0, 0.0]])
    reid, aux = contrastive_losses([ContrastiveItem(anchor, candidates)], anchor)
    expected = math.log(1 + math.exp(0.5 - 2.0) + math.exp(-1.0 - 2.0))
    assert float(reid) == pytest.approx(expected, rel=1e-6)
    cosines = [1.0, math.sqrt(0.5), -1.0]
    labels = [1.0, 0.0, 0.0]
    assert float(aux) == pytest.approx(
        np.mean([(c - lb) ** 2 for c, lb in zip(cosines, labels, strict=True)])
    )


def test_the_noiser_mixes_queries_and_relabels_those_mostly_taken_from_another():
    torch.manual_seed(0)
    queries = torch.arange(12.0).view(6, 1, 2)
    matched = torch.tensor([5, 4, 3, 2, 1, 0])
    assert torch.equal(Noiser("wa", 0.0).initial(matched, queries)[0], matched)
    indices, mixed = Noiser("wa", 1.0).initial(matched, queries)
    assert mixed.shape == queries.shape and not torch.equal(mixed, queries[matched])
    kept = indices == torch.arange(6)
    assert kept.any() or (~kept).any()
    shuffled, rs = Noiser("rs", 1.0).initial(matched, queries)
    assert torch.equal(rs, queries[shuffled]) and sorted(shuffled.tolist()) == list(range(6))


def test_consecutive_frames_with_reversal():
    rng = np.random.default_rng(0)
    frames = ConsecutiveFrameSampler()(rng, 20, 5, 3)
    assert frames == list(range(frames[0], frames[0] + 5)) and frames[0] <= 14
    short = ConsecutiveFrameSampler()(rng, 3, 5, 0)
    assert sorted(short) == short and set(short) == {0, 1, 2}
    reversed_seen = {tuple(ConsecutiveFrameSampler(reverse=True)(rng, 10, 4, 0)) for _ in range(20)}
    assert any(list(f) == sorted(f, reverse=True) for f in reversed_seen)


def test_a_stage_starts_from_the_previous_stages_file(tmp_path):
    minvis = get_method("minvis").build(
        {k: v for k, v in TINY.items() if k not in ("reid_hidden_dim", "tracker_layers")}
    )
    path = tmp_path / "minvis.pth"
    save_project_checkpoint(minvis.model.state_dict(), path, "minvis", {}, None, False)
    segmenter = _plugin("dvis-plus-online", "segmenter")
    report = segmenter.start_training_from(str(path))
    assert report.missing and all(
        k.startswith(("sem_seg_head.predictor.reid_embed.", "tracker.")) for k in report.missing
    )
    key = "sem_seg_head.predictor.query_feat.weight"
    assert torch.equal(segmenter.model.state_dict()[key], minvis.model.state_dict()[key])
    with pytest.raises(CheckpointError, match="tracker stage"):
        _plugin("dvis-plus-online", "tracker").start_training_from(str(path))


@pytest.mark.slow
def test_the_three_stages_train_one_after_the_other(tmp_path):
    dataset = DatasetConfig(
        kind="synthetic", videos=2, min_frames=5, max_frames=6, cache_dir=str(tmp_path / "c")
    )
    previous = None
    for method, stage, options in (
        ("dvis-plus-online", "segmenter", {}),
        ("dvis-plus-online", "tracker", {}),
        ("dvis-plus-offline", "refiner", {"refiner_layers": 1}),
    ):
        config = TrainConfig(
            name=f"dvis-{stage}",
            method=method,
            dataset=dataset,
            options={**TINY, "num_classes": 8, "train_stage": stage, **options},
            clip=ClipConfig(frames=3, scales=[64]),
            optim=OptimConfig(iterations=2),
            init_checkpoint=previous,
            output=str(tmp_path / f"{stage}.pth"),
            work_dir=str(tmp_path / f"work-{stage}"),
            checkpoint_every=2,
            changes_over_init=previous is not None,  # as the shipped tiny files are stored
        )
        assert train(config, progress=False, log=lambda _: None).iterations == 2
        previous = config.output
    stored = {
        stage: {k.split(".")[0] for k in read_checkpoint(tmp_path / f"{stage}.pth")["state_dict"]}
        for stage in ("segmenter", "tracker", "refiner")
    }
    assert stored == {
        "segmenter": {"backbone", "sem_seg_head", "criterion"},
        "tracker": {"tracker"},
        "refiner": {"refiner"},
    }
    offline = get_method("dvis-plus-offline").build(open_checkpoint(previous).config)
    offline.load_checkpoint(previous)  # strictly, through both bases


def test_a_stage_s_file_leaves_out_what_later_stages_train_from_scratch():
    segmenter = _plugin("dvis-plus-online", "segmenter").trained_state_dict()
    assert segmenter and not any(k.startswith("tracker.") for k in segmenter)
    tracker = _plugin("dvis-plus-online", "tracker")
    assert tracker.trained_state_dict().keys() == tracker.model.state_dict().keys()
    refiner = _plugin("dvis-plus-offline", "refiner")
    assert refiner.trained_state_dict().keys() == refiner.model.state_dict().keys()
