"""SAM 3's one-to-one matching of queries to ground truth, per (image, prompt) pair: Hungarian
assignment on 2 x a focal classification cost + 5 x the L1 distance of the cxcywh boxes +
2 x the negative generalised IoU (the released `BinaryHungarianMatcherV2` with `focal: true`,
alpha 0.25, gamma 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from vis_bench.methods.common.box_ops import box_cxcywh_to_xyxy, generalized_box_iou

COST_CLASS = 2.0
COST_BBOX = 5.0
COST_GIOU = 2.0
FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0


def focal_class_cost(logits: torch.Tensor) -> torch.Tensor:
    """(Q,) class logits -> (Q,) cost of calling each query a positive: the focal loss of a
    positive minus that of a negative (cheap where the query is confident)."""
    prob = logits.sigmoid()
    positive = -FOCAL_ALPHA * (1 - prob) ** FOCAL_GAMMA * F.logsigmoid(logits)
    negative = -(1 - FOCAL_ALPHA) * prob**FOCAL_GAMMA * F.logsigmoid(-logits)
    return positive - negative


def matching_cost(
    logits: torch.Tensor, boxes: torch.Tensor, gt_boxes: torch.Tensor
) -> torch.Tensor:
    """(Q, n) cost of assigning query q (logit (Q,), cxcywh box (Q, 4)) to ground truth j."""
    l1 = torch.cdist(boxes, gt_boxes, p=1)
    giou = generalized_box_iou(box_cxcywh_to_xyxy(boxes), box_cxcywh_to_xyxy(gt_boxes))
    return COST_CLASS * focal_class_cost(logits)[:, None] + COST_BBOX * l1 - COST_GIOU * giou


@torch.no_grad()
def match(
    logits: torch.Tensor, boxes: torch.Tensor, gt_boxes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The minimum-cost assignment: (queries, ground-truth indices), each of min(Q, n) entries,
    ordered by ground truth."""
    if len(gt_boxes) == 0:
        empty = torch.zeros(0, dtype=torch.long, device=logits.device)
        return empty, empty
    cost = matching_cost(logits.float(), boxes.float(), gt_boxes.float())
    rows, cols = linear_sum_assignment(cost.cpu().numpy())
    order = cols.argsort()
    device = logits.device
    return (
        torch.as_tensor(rows[order], dtype=torch.long, device=device),
        torch.as_tensor(cols[order], dtype=torch.long, device=device),
    )
