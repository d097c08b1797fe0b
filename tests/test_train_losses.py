"""Losses and matchers of SeqFormer and IFC on hand-checkable inputs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vis_bench.methods.common.box_ops import generalized_box_iou
from vis_bench.methods.common.losses import (
    dice_coefficient,
    dice_loss,
    pairwise_dice_coefficient,
    sigmoid_focal_loss,
)
from vis_bench.methods.families.seqformer import criterion as seq_criterion
from vis_bench.methods.ifc import criterion as ifc_criterion
from vis_bench.train.clips import ClipTargets


def test_focal_loss_equals_the_formula():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = logits.sigmoid().tolist()
    expected = 0.0
    for i in range(2):
        row = 0.0
        for j in range(2):
            positive = bool(targets[i, j])
            pt = p[i][j] if positive else 1 - p[i][j]
            alpha = 0.25 if positive else 0.75
            row += alpha * (1 - pt) ** 2 * -math.log(pt)
        expected += row / 2  # mean over the second dimension
    assert float(sigmoid_focal_loss(logits, targets, 2.0)) == pytest.approx(expected / 2, rel=1e-6)


def test_dice_loss_and_coefficients():
    big = 50.0
    logits = torch.tensor([[big, big, -big, -big]])
    target = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    assert float(dice_coefficient(logits, target)) == pytest.approx(1.0)
    assert float(dice_loss(logits, 1 - target, 1.0)) == pytest.approx(1 - 1 / 5, abs=1e-6)
    many = torch.randn(3, 7)
    targets = (torch.rand(4, 7) > 0.5).float()
    pairwise = pairwise_dice_coefficient(many, targets)
    for i in range(3):
        for j in range(4):
            single = dice_coefficient(many[i : i + 1], targets[j : j + 1])
            assert float(pairwise[i, j]) == pytest.approx(float(single), rel=1e-6)


def test_generalized_iou_of_known_boxes():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [4.0, 0.0, 6.0, 2.0]])
    giou = generalized_box_iou(a, b)[0]
    assert giou[0] == pytest.approx(1 / 7 - (9 - 7) / 9)
    assert giou[1] == pytest.approx(1.0)
    assert giou[2] == pytest.approx(0 - (12 - 8) / 12)


def _targets(labels, boxes, masks=None):
    boxes = torch.tensor(boxes, dtype=torch.float32)
    n, t = boxes.shape[:2]
    masks = torch.zeros(n, t, 8, 8) if masks is None else masks
    return ClipTargets(torch.tensor(labels), masks, boxes, torch.ones(n, t, dtype=torch.bool))


def test_seqformer_matcher_assigns_the_obvious_queries():
    # two instances over 2 frames; query 3 sits on instance 0, query 1 on instance 1
    inst = [
        [[0.3, 0.3, 0.2, 0.2], [0.32, 0.3, 0.2, 0.2]],
        [[0.7, 0.6, 0.3, 0.1], [0.7, 0.62, 0.3, 0.1]],
    ]
    targets = _targets([2, 5], inst)
    boxes = torch.full((2, 4, 4), 0.5)  # [T, Nq, 4]
    boxes[:, 3] = torch.tensor(inst[0])
    boxes[:, 1] = torch.tensor(inst[1])
    logits = torch.full((4, 7), -4.0)
    logits[3, 2] = logits[1, 5] = 3.0
    rows, cols = seq_criterion.hungarian_match(
        logits, boxes, targets, seq_criterion.SeqFormerLossWeights()
    )
    assert dict(zip(cols.tolist(), rows.tolist(), strict=True)) == {0: 3, 1: 1}


def test_seqformer_losses_vanish_where_the_prediction_is_right():
    inst = [[[0.3, 0.3, 0.2, 0.2]]]
    targets = _targets([1], inst)
    heads = {
        "pred_logits": torch.tensor([[[-30.0, 30.0], [-30.0, -30.0]]]),  # [1, Nq, K]
        "pred_boxes": torch.tensor([[[[0.3, 0.3, 0.2, 0.2], [0.5, 0.5, 0.1, 0.1]]]]),  # [1,T,Nq,4]
    }
    stride4 = torch.ones(1, 1, 2, 2)
    masks = torch.full((1, 1, 2, 2), 30.0)
    losses = seq_criterion.layer_losses(
        heads,
        masks,
        (torch.tensor([0]), torch.tensor([0])),
        targets,
        stride4,
        1.0,
        seq_criterion.SeqFormerLossWeights(),
    )
    for name, value in losses.items():
        assert float(value) == pytest.approx(0.0, abs=1e-4), name


def test_seqformer_mask_targets_sample_stride_4_at_offset_2_of_the_padded_input():
    masks = torch.arange(2 * 6 * 10, dtype=torch.float32).view(1, 2, 6, 10)
    out = seq_criterion.mask_targets(masks, (8, 12), 4)
    assert out.shape == (1, 2, 2, 3)
    assert out[0, 0, 0, 0] == masks[0, 0, 2, 2] and out[0, 1, 0, 1] == masks[0, 1, 2, 6]
    assert out[0, 0, 1, 2] == 0  # row 6 / column 10 lie in the zero padding


def test_ifc_cross_entropy_summed_over_clips_is_the_batch_weighted_mean():
    torch.manual_seed(0)
    num_queries, num_classes = 5, 3
    weights = ifc_criterion.IFCLossWeights()
    clips = []
    for n in (1, 2):
        logits = torch.randn(num_queries, num_classes + 1)
        labels = torch.randint(0, num_classes, (n,))
        masks = torch.randn(num_queries, 2, 4, 4)
        target_masks = (torch.rand(n, 2, 8, 8) > 0.5).float()
        clips.append((logits, labels, masks, target_masks))
    num_instances = 3.0
    total_weight = num_instances + (2 * num_queries - num_instances) * weights.no_object
    summed = sum(
        ifc_criterion.layer_losses(lg, mk, lb, tm, num_instances, total_weight, weights)["loss_ce"]
        for lg, lb, mk, tm in clips
    )
    # the authors' batched version: one weighted mean over both clips' queries
    all_logits, all_targets = [], []
    for lg, lb, mk, tm in clips:
        rows, cols = ifc_criterion.hungarian_match(lg, mk, lb, tm, weights)
        target = torch.full((num_queries,), num_classes)
        target[rows] = lb[cols]
        all_logits.append(lg)
        all_targets.append(target)
    class_weights = torch.ones(num_classes + 1)
    class_weights[-1] = weights.no_object
    batched = F.cross_entropy(torch.cat(all_logits), torch.cat(all_targets), class_weights)
    assert float(summed) == pytest.approx(float(batched), rel=1e-6)


def test_ifc_matcher_prefers_the_query_whose_mask_and_class_fit():
    target_masks = torch.zeros(1, 1, 4, 4)
    target_masks[0, 0, :2, :2] = 1
    masks = torch.full((3, 1, 2, 2), -10.0)
    masks[2, 0, 0, 0] = 10.0  # at stride 8 -> the top-left quarter after upsampling
    logits = torch.zeros(3, 3)
    rows, cols = ifc_criterion.hungarian_match(
        logits, masks, torch.tensor([1]), target_masks, ifc_criterion.IFCLossWeights()
    )
    assert rows.tolist() == [2] and cols.tolist() == [0]
