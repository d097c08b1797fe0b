"""Mask2Former-VIS's video Hungarian matcher (VideoHungarianMatcher, mask2former_video/modeling/
matcher.py, memory_efficient_forward).

Each video of a batch is matched on its own: one query to one ground-truth instance, minimising
`cost_class * -p(class) + cost_mask * sigmoid BCE + cost_dice * Dice loss`, where p is the softmax
over K + 1 classes and the mask costs compare a query's mask with an instance's mask at
`num_points` points drawn uniformly at random. The points are shared by every query, every
instance and every frame of the video: masks [Q, T, h, w] are sampled per frame at the same
points and the frames then laid end to end, so a mask becomes one vector of T * num_points
values. Costs are computed without gradients and in float32 (the authors turn autocast off).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from vis_bench.methods.common.losses import pairwise_dice_coefficient
from vis_bench.methods.families.mask2former.point_sampling import point_sample

#: MODEL.MASK_FORMER.TRAIN_NUM_POINTS (mask2former/config.py: 112 * 112)
TRAIN_NUM_POINTS = 112 * 112


@dataclass
class VideoTargets:
    """Ground truth of one video as the criterion reads it (the authors' prepare_targets).

    labels: int64 [N] class indices in 0..K (K, "no object", is what the authors' loader gives
    an instance absent from the clip's last frame); masks: float [N, T, Hp, Wp] in {0, 1},
    zero-padded to the padded input and zero in frames where the instance is absent.
    """

    labels: torch.Tensor
    masks: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def batch_sigmoid_ce_cost(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean sigmoid BCE of every mask logit vector [Q, D] against every target [N, D] -> [Q, N].

    Written as two matrix products (BCE against all-ones and all-zeros targets, weighted by the
    targets) so no [Q, N, D] tensor is built, as the authors' batch_sigmoid_ce_loss does.
    """
    pos = F.binary_cross_entropy_with_logits(inputs, torch.ones_like(inputs), reduction="none")
    neg = F.binary_cross_entropy_with_logits(inputs, torch.zeros_like(inputs), reduction="none")
    return (pos @ targets.t() + neg @ (1 - targets).t()) / inputs.shape[1]


def batch_dice_cost(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """1 - smoothed Dice of every mask logit vector [Q, D] against every target [N, D] -> [Q, N]
    (the authors' batch_dice_loss)."""
    return 1 - pairwise_dice_coefficient(inputs, targets)


@dataclass(frozen=True)
class VideoHungarianMatcher:
    """Per-video optimal query-instance assignment; costs weighted as the loss weights are
    (video_maskformer_model.py builds it with CLASS_WEIGHT, MASK_WEIGHT and DICE_WEIGHT)."""

    cost_class: float = 2.0
    cost_mask: float = 5.0
    cost_dice: float = 5.0
    num_points: int = TRAIN_NUM_POINTS

    def __post_init__(self) -> None:
        if self.cost_class == 0 and self.cost_mask == 0 and self.cost_dice == 0:
            raise ValueError("the matcher needs at least one non-zero cost")

    @torch.no_grad()
    def cost_matrix(
        self,
        logits: torch.Tensor,
        masks: torch.Tensor,
        target: VideoTargets,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Matching cost [Q, N] of one video: logits [Q, K + 1], mask logits [Q, T, h, w]."""
        prob = logits.float().softmax(-1)
        cost_class = -prob[:, target.labels.to(logits.device)]
        coords = torch.rand(1, self.num_points, 2, device=masks.device, generator=generator)
        tgt = target.masks.to(masks.device, torch.float32)
        tgt = point_sample(tgt, coords.expand(tgt.shape[0], -1, -1)).flatten(1)
        out = masks.float()
        out = point_sample(out, coords.expand(out.shape[0], -1, -1)).flatten(1)
        with torch.autocast(masks.device.type, enabled=False):  # matrix products in float32
            return (
                self.cost_mask * batch_sigmoid_ce_cost(out, tgt)
                + self.cost_class * cost_class
                + self.cost_dice * batch_dice_cost(out, tgt)
            )

    @torch.no_grad()
    def match_video(
        self,
        logits: torch.Tensor,
        masks: torch.Tensor,
        target: VideoTargets,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(query indices, instance indices), int64 on the CPU, of one video's assignment; the
        query indices come out sorted, as scipy returns them."""
        if len(target) == 0:
            empty = torch.zeros(0, dtype=torch.int64)
            return empty, empty.clone()
        cost = self.cost_matrix(logits, masks, target, generator)
        rows, cols = linear_sum_assignment(cost.cpu().numpy())
        return torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(cols, dtype=torch.int64)

    def __call__(
        self,
        outputs: dict[str, torch.Tensor],
        targets: Sequence[VideoTargets],
        generator: torch.Generator | None = None,
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One assignment per video: pred_logits [B, Q, K + 1], pred_masks [B, Q, T, h, w]."""
        logits, masks = outputs["pred_logits"], outputs["pred_masks"]
        return [
            self.match_video(logits[b], masks[b], target, generator)
            for b, target in enumerate(targets)
        ]
