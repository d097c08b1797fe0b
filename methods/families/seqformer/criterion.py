"""SeqFormer's training objective (models/matcher.py and SetCriterion in models/seqformer.py).

Video-level Hungarian matching per decoder layer on class and box costs only (no mask cost):
focal class cost, Euclidean distance between the query's boxes and the instance's boxes over all
frames stacked into one vector (`torch.cdist`, p = 2), and the negative GIoU averaged over frames.
Losses per layer: sigmoid focal classification over every (query, class), L1 and GIoU on the
matched queries' per-frame boxes (frames where the instance is absent keep their ~0 boxes as
targets, as in the authors' loader), and sigmoid-focal + Dice mask losses on the matched
queries' masks against the ground truth sampled at stride 4 (offset 2) of the padded input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from vis_bench.api.training import ClipTargets
from vis_bench.methods.common.box_ops import box_cxcywh_to_xyxy, generalized_box_iou
from vis_bench.methods.common.losses import dice_loss, sigmoid_focal_loss

FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0


@dataclass(frozen=True)
class SeqFormerLossWeights:
    """main.py defaults: loss coefficients and matcher costs."""

    cls: float = 2.0
    bbox: float = 5.0
    giou: float = 2.0
    mask: float = 2.0
    dice: float = 5.0
    cost_class: float = 2.0
    cost_bbox: float = 5.0
    cost_giou: float = 2.0


@torch.no_grad()
def hungarian_match(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    targets: ClipTargets,
    weights: SeqFormerLossWeights,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(query indices, instance indices) of the optimal assignment.

    logits [Nq, K]; boxes [T, Nq, 4] (cx, cy, w, h) as the model predicts them.
    """
    prob = logits.sigmoid()
    labels = targets.labels
    neg = (1 - FOCAL_ALPHA) * prob**FOCAL_GAMMA * -(1 - prob + 1e-8).log()
    pos = FOCAL_ALPHA * (1 - prob) ** FOCAL_GAMMA * -(prob + 1e-8).log()
    cost_class = pos[:, labels] - neg[:, labels]  # [Nq, N]
    out_boxes = boxes.transpose(0, 1)  # [Nq, T, 4]
    tgt_boxes = targets.boxes  # [N, T, 4]
    cost_bbox = torch.cdist(out_boxes.flatten(1), tgt_boxes.flatten(1))
    frames = out_boxes.shape[1]
    cost_giou = (
        -sum(
            generalized_box_iou(
                box_cxcywh_to_xyxy(out_boxes[:, t]), box_cxcywh_to_xyxy(tgt_boxes[:, t])
            )
            for t in range(frames)
        )
        / frames
    )
    cost = (
        weights.cost_bbox * cost_bbox
        + weights.cost_class * cost_class
        + weights.cost_giou * cost_giou
    )
    rows, cols = linear_sum_assignment(cost.cpu().numpy())
    return torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(cols, dtype=torch.int64)


def box_losses(
    boxes: torch.Tensor, targets: torch.Tensor, num_instances: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """L1 and GIoU losses of matched per-frame boxes [n, T, 4] vs targets [n, T, 4], averaged
    over frames, summed over instances and divided by `num_instances`."""
    frames = boxes.shape[1]
    l1 = F.l1_loss(boxes.flatten(1), targets.flatten(1), reduction="none").sum() / frames
    giou = (
        sum(
            (
                1
                - torch.diag(
                    generalized_box_iou(
                        box_cxcywh_to_xyxy(boxes[:, t]), box_cxcywh_to_xyxy(targets[:, t])
                    )
                )
            ).sum()
            for t in range(frames)
        )
        / frames
    )
    return l1 / num_instances, giou / num_instances


def mask_targets(masks: torch.Tensor, padded_size: tuple[int, int], stride: int) -> torch.Tensor:
    """GT masks [N, T, H, W] zero-padded to the padded input, then sampled at stride `stride`
    starting at stride // 2 (the authors' nearest-neighbour downsampling)."""
    h, w = masks.shape[-2:]
    ph, pw = padded_size
    padded = F.pad(masks, (0, pw - w, 0, ph - h))
    start = stride // 2
    return padded[..., start::stride, start::stride]


def layer_losses(
    heads: dict[str, torch.Tensor],
    masks: torch.Tensor,
    match: tuple[torch.Tensor, torch.Tensor],
    targets: ClipTargets,
    stride4_targets: torch.Tensor,
    num_instances: float,
    weights: SeqFormerLossWeights,
) -> dict[str, torch.Tensor]:
    """Weighted losses of one decoder layer; `masks` [n, T, h, w] are the matched queries'."""
    queries, instances = match
    logits = heads["pred_logits"][0]  # [Nq, K]
    onehot = torch.zeros_like(logits)
    onehot[queries, targets.labels[instances]] = 1
    # SetCriterion: mean over queries, summed, times the number of queries = sum / N
    loss_ce = sigmoid_focal_loss(logits.t(), onehot.t(), num_instances) * logits.shape[0]
    boxes = heads["pred_boxes"][0].transpose(0, 1)[queries]  # [n, T, 4]
    loss_bbox, loss_giou = box_losses(boxes, targets.boxes[instances], num_instances)
    src = masks.flatten(1)
    tgt = stride4_targets[instances].flatten(1)
    return {
        "loss_ce": weights.cls * loss_ce,
        "loss_bbox": weights.bbox * loss_bbox,
        "loss_giou": weights.giou * loss_giou,
        "loss_mask": weights.mask * sigmoid_focal_loss(src, tgt, num_instances),
        "loss_dice": weights.dice * dice_loss(src, tgt, num_instances),
    }
