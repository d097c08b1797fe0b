"""IFC's training objective (ifc/models/matcher.py, SetCriterion in ifc/models/ifc.py, ifc.py).

Ground-truth masks are bilinearly resized to stride 4 of the input (MASK_STRIDE = MATCH_STRIDE =
4) and predicted stride-8 masks are bilinearly upsampled to that size. Matching per decoder
layer maximises `cost_dice * Dice coefficient + cost_class * softmax probability of the
instance's class` (no box anywhere). Losses: cross-entropy over K + 1 classes with the
"no object" class weighted 0.1, and sigmoid-focal (weight 3) + Dice (weight 3) mask losses on
the matched queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from vis_bench.methods.common.losses import dice_loss, pairwise_dice_coefficient, sigmoid_focal_loss


@dataclass(frozen=True)
class IFCLossWeights:
    """configs/base_ytvis.yaml + add_ifc_config defaults."""

    ce: float = 1.0
    mask: float = 3.0
    dice: float = 3.0
    no_object: float = 0.1
    cost_class: float = 1.0
    cost_dice: float = 3.0  # the matcher uses DICE_WEIGHT
    mask_stride: int = 4


def stride_targets(masks: torch.Tensor, stride: int) -> torch.Tensor:
    """GT masks [N, T, H, W] bilinearly resized to ceil(H / stride) x ceil(W / stride)."""
    h, w = masks.shape[-2:]
    size = (math.ceil(h / stride), math.ceil(w / stride))
    return F.interpolate(masks, size=size, mode="bilinear", align_corners=False)


def _resize(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[n, T, h, w] mask logits bilinearly resized to `size` (frames as channels)."""
    if tuple(masks.shape[-2:]) == tuple(size):
        return masks
    return F.interpolate(masks, size=size, mode="bilinear", align_corners=False)


@torch.no_grad()
def hungarian_match(
    logits: torch.Tensor,
    masks: torch.Tensor,
    labels: torch.Tensor,
    target_masks: torch.Tensor,
    weights: IFCLossWeights,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(query indices, instance indices) maximising the class + Dice score.

    logits [Q, K + 1]; masks [Q, T, h8, w8]; labels [N] contiguous; target_masks [N, T, h, w].
    """
    prob = logits.softmax(-1)[:, labels]  # [Q, N]
    dice = pairwise_dice_coefficient(_resize(masks, target_masks.shape[-2:]), target_masks)
    score = weights.cost_dice * dice + weights.cost_class * prob
    rows, cols = linear_sum_assignment(score.cpu().numpy(), maximize=True)
    return torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(cols, dtype=torch.int64)


def layer_losses(
    logits: torch.Tensor,
    masks: torch.Tensor,
    labels: torch.Tensor,
    target_masks: torch.Tensor,
    num_instances: float,
    class_weight_total: float,
    weights: IFCLossWeights,
) -> dict[str, torch.Tensor]:
    """Weighted losses of one decoder layer of one clip.

    `class_weight_total` is the sum of the class weights over every query of the batch, so
    summing this clip's cross-entropy with the other clips' gives the authors' batch mean.
    """
    queries, instances = hungarian_match(logits, masks, labels, target_masks, weights)
    num_classes = logits.shape[-1] - 1
    target_classes = torch.full((logits.shape[0],), num_classes, dtype=torch.int64)
    target_classes[queries] = labels[instances]
    class_weights = torch.ones(num_classes + 1, dtype=logits.dtype, device=logits.device)
    class_weights[-1] = weights.no_object
    ce = F.cross_entropy(logits, target_classes.to(logits.device), class_weights, reduction="sum")
    src = _resize(masks[queries], target_masks.shape[-2:]).flatten(1)
    tgt = target_masks[instances].flatten(1)
    return {
        "loss_ce": weights.ce * ce / class_weight_total,
        "loss_mask": weights.mask * sigmoid_focal_loss(src, tgt, num_instances),
        "loss_dice": weights.dice * dice_loss(src, tgt, num_instances),
    }
