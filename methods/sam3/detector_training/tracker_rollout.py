"""The tracker's training objective on one clip, through the inference code itself: the objects
visible on the clip's first frame are born from their ground-truth masks (`TrackerState.born`,
as a detection births a track), every later frame is propagated from the memory
(`TrackerState.propagate`) and its memory encoded from the prediction (`update_memories`), and
each propagated frame is scored against the ground truth with SAM 2's video loss (its released
weights: mask focal x20, Dice x1, IoU-estimate L1 x1, object-score BCE x1; the mask terms only
where the object is visible). Departure: the loss is on the candidate the tracker chose, not
the best of its three (the inference code returns only the chosen one)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vis_bench.methods.common.losses import dice_loss, sigmoid_focal_loss
from vis_bench.methods.sam3.tracker import FrameFeatures, Tracker
from vis_bench.methods.sam3.tracker_state import TrackerState, update_memories

#: SAM 2's released video-training loss weights
WEIGHTS = {"loss_mask": 20.0, "loss_dice": 1.0, "loss_iou": 1.0, "loss_class": 1.0}
#: a ground-truth mask given as a detection's logits
BIRTH_LOGIT = 10.0


def tracker_losses(
    tracker: Tracker, features: list[FrameFeatures], masks: torch.Tensor, visible: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Per-frame features of a clip, its objects' (N, T, S, S) square masks in {0, 1} and
    (N, T) visibility -> the weighted loss terms, each averaged over objects and frames. The
    objects born are those visible on frame 0; a clip with none gives zero losses."""
    born = torch.nonzero(visible[:, 0]).flatten()
    zero = sum(p.sum() for p in tracker.parameters()) * 0.0
    frames = len(features)
    if len(born) == 0 or frames < 2:
        return {name: zero for name in WEIGHTS}
    masks, visible = masks[born].float(), visible[born].float()
    low = tracker.sizes.low_res
    small = F.interpolate(masks, size=(low, low), mode="area")
    size = (int(masks.shape[-2]), int(masks.shape[-1]))
    births = (small[:, 0] > 0.5).float() * 2 * BIRTH_LOGIT - BIRTH_LOGIT
    ids = list(range(len(born)))
    state = TrackerState.born(tracker, frames, 0, ids, births, features[0], size)
    terms = {name: [] for name in WEIGHTS}
    for t in range(1, frames):
        logits, scores = state.propagate(t, features[t])
        stored = state.non_cond[t]
        # memory selection reads the frame's score as a decision: no gradient through it
        stored.eff_iou_score = stored.eff_iou_score.detach()
        iou_estimate = stored.iou_score
        update_memories([state], t, logits, features[t])
        target = masks[:, t]
        present = visible[:, t]
        pred = F.interpolate(logits[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
        flat, goal = pred.flatten(1), target.flatten(1)
        count = max(1.0, float(present.sum()))
        shown = present.bool()
        terms["loss_mask"].append(sigmoid_focal_loss(flat[shown], goal[shown], count))
        terms["loss_dice"].append(dice_loss(flat[shown], goal[shown], count))
        with torch.no_grad():
            hit = (pred > 0).float()
            inter = (hit * target).flatten(1).sum(1)
            union = ((hit + target) > 0).float().flatten(1).sum(1).clamp(min=1)
            actual = inter / union
        terms["loss_iou"].append(
            ((iou_estimate.reshape(-1) - actual).abs() * present).sum() / count
        )
        terms["loss_class"].append(F.binary_cross_entropy_with_logits(scores, present))
    return {name: WEIGHTS[name] * torch.stack(values).mean() for name, values in terms.items()}
