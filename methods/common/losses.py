"""Set-prediction losses shared by SeqFormer and IFC (both inherit them from DETR), and the
no-object class weight every DETR-style checkpoint carries.

Each loss sums over instances and divides by `num_instances`, the number of ground-truth
instances in the batch, so clips with many objects weigh more, as in both codebases.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NoObjectWeight(nn.Module):
    """`criterion.empty_weight`: cross-entropy weights, 1 per class and the no-object weight
    last; the authors' checkpoints carry it, so their models hold it even without training."""

    def __init__(self, num_classes: int, no_object_weight: float) -> None:
        super().__init__()
        weight = torch.ones(num_classes + 1)
        weight[-1] = no_object_weight
        self.register_buffer("empty_weight", weight)


def sigmoid_focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    num_instances: float,
    alpha: float = 0.25,
    gamma: float = 2.0,
) -> torch.Tensor:
    """RetinaNet focal loss on [N, D] logits: mean over D, sum over N, / num_instances."""
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = prob * targets + (1 - prob) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.mean(1).sum() / num_instances


def dice_loss(logits: torch.Tensor, targets: torch.Tensor, num_instances: float) -> torch.Tensor:
    """1 - smoothed Dice coefficient of [N, D] mask logits vs {0, 1} targets, / num_instances."""
    return (1 - dice_coefficient(logits, targets)).sum() / num_instances


def dice_coefficient(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-row (2 |p t| + 1) / (|p| + |t| + 1) of sigmoid(logits) [N, D] and targets [N, D]."""
    prob = logits.sigmoid().flatten(1)
    targets = targets.flatten(1)
    return (2 * (prob * targets).sum(1) + 1) / (prob.sum(1) + targets.sum(1) + 1)


def pairwise_dice_coefficient(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Dice coefficient of every prediction [N, D] against every target [M, D] -> [N, M]."""
    prob = logits.sigmoid().flatten(1)
    targets = targets.flatten(1)
    numerator = 2 * prob @ targets.t()
    return (numerator + 1) / (prob.sum(1)[:, None] + targets.sum(1)[None] + 1)
