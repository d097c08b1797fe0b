"""SAM 3's detector losses (the released `Sam3LossWrapper` with `Boxes`, `IABCEMdetr` and
`Masks`), weighted as its segmentation training config weighs them, on every decoder layer
(masks on the last only, as `compute_aux: false` does).

- Boxes: L1 of the matched cxcywh boxes x5 and 1 - GIoU x2, summed and divided by the batch's
  ground-truth count.
- Classification (IoU-aware BCE) x20: a matched query's target is the soft
  clamp(p^0.25 x IoU^0.75, 0.01) (p its probability, IoU its box against its match) with
  positive weight 10; every other query is a negative weighted by p^2; averaged over all
  (pair, query) entries, pairs whose prompt has no instance contributing zero.
- Presence x20: binary cross-entropy (focal with alpha 0.5, gamma 0) of the presence logit
  against whether the prompt's concept is in the frame, averaged over the pairs.
- Masks: sigmoid focal (alpha 0.25, gamma 2) x200 and Dice x10 of the matched queries' masks,
  bilinearly upsampled to the ground truth's size.
- Semantic map (`SemanticSegCriterion` as that config sets it: focal, presence head, no
  presence loss): per pair, the union of its instances' masks against the head's semantic map
  upsampled to it, sigmoid focal (alpha 0.6, gamma 2) x20 and Dice x30, averaged over the pairs
  whose concept is present (an absent pair's map is not trained).

The authors' one-to-many (DAC) queries are not trained: the tiny detector has only the
one-to-one queries the video model runs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vis_bench.methods.common.box_ops import (
    box_cxcywh_to_xyxy,
    box_iou,
    generalized_box_iou,
)
from vis_bench.methods.common.losses import dice_loss, sigmoid_focal_loss
from vis_bench.methods.sam3.detector_training.forward import LayerOutputs
from vis_bench.methods.sam3.detector_training.matching import match
from vis_bench.methods.sam3.detector_training.targets import PairTargets

WEIGHTS = {
    "loss_bbox": 5.0,
    "loss_giou": 2.0,
    "loss_ce": 20.0,
    "presence_loss": 20.0,
    "loss_mask": 200.0,
    "loss_dice": 10.0,
    "loss_semantic_seg": 20.0,
    "loss_semantic_dice": 30.0,
}
POS_WEIGHT = 10.0
IOU_AWARE_ALPHA = 0.25
NEGATIVE_GAMMA = 2.0
PRESENCE_ALPHA = 0.5
MASK_FOCAL_ALPHA = 0.25
MASK_FOCAL_GAMMA = 2.0
SEMANTIC_FOCAL_ALPHA = 0.6
SEMANTIC_FOCAL_GAMMA = 2.0
#: the lowest soft target of a matched query
MIN_SOFT_TARGET = 0.01


def iou_aware_bce(
    logits: torch.Tensor,
    queries: list[torch.Tensor],
    ious: list[torch.Tensor],
    present: torch.Tensor,
) -> torch.Tensor:
    """(B, Q) class logits; per pair its matched queries and their box IoUs; (B,) whether the
    pair has an instance -> the mean IoU-aware BCE over every (pair, query)."""
    prob = logits.sigmoid()
    positive = torch.zeros_like(logits)
    soft = torch.zeros_like(logits)
    for b, (q, iou) in enumerate(zip(queries, ious, strict=True)):
        positive[b, q] = 1.0
        soft[b, q] = (prob[b, q].detach() ** IOU_AWARE_ALPHA * iou ** (1 - IOU_AWARE_ALPHA)).clamp(
            min=MIN_SOFT_TARGET
        )
    loss = (
        F.binary_cross_entropy_with_logits(logits, soft, reduction="none") * positive * POS_WEIGHT
    )
    negatives = F.binary_cross_entropy_with_logits(logits, positive, reduction="none")
    loss = loss + negatives * (1 - positive) * prob**NEGATIVE_GAMMA
    return (loss * present[:, None]).mean()


def presence_loss(logits: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """(B,) presence logits against (B,) {0, 1} targets: the mean over the pairs of 0.5 x BCE."""
    return sigmoid_focal_loss(
        logits[:, None], present[:, None], len(logits), alpha=PRESENCE_ALPHA, gamma=0.0
    )


def box_losses(
    boxes: torch.Tensor, gt_boxes: torch.Tensor, num_boxes: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Matched (M, 4) cxcywh boxes against their ground truth -> (L1, 1 - GIoU), / num_boxes."""
    l1 = F.l1_loss(boxes, gt_boxes, reduction="none").sum() / num_boxes
    giou = torch.diag(generalized_box_iou(box_cxcywh_to_xyxy(boxes), box_cxcywh_to_xyxy(gt_boxes)))
    return l1, (1 - giou).sum() / num_boxes


def mask_losses(
    masks: torch.Tensor, gt_masks: torch.Tensor, num_boxes: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Matched (M, h, w) mask logits against (M, H, W) ground truth -> (focal, Dice)."""
    if len(masks) == 0:
        zero = masks.sum() * 0.0
        return zero, zero
    upsampled = F.interpolate(
        masks[:, None], size=gt_masks.shape[-2:], mode="bilinear", align_corners=False
    )[:, 0].flatten(1)
    target = gt_masks.flatten(1).to(upsampled.dtype)
    focal = sigmoid_focal_loss(
        upsampled, target, num_boxes, alpha=MASK_FOCAL_ALPHA, gamma=MASK_FOCAL_GAMMA
    )
    return focal, dice_loss(upsampled, target, num_boxes)


def semantic_losses(
    semantic: torch.Tensor, targets: PairTargets
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 1, h, w) semantic logits -> (focal, Dice) averaged over the pairs whose prompt's
    concept is present; each pair's target is the union of its instances' masks."""
    size = targets.masks[0].shape[-2:]
    upsampled = F.interpolate(semantic, size=size, mode="bilinear", align_corners=False)
    present = [b for b, masks in enumerate(targets.masks) if len(masks)]
    if not present:
        zero = semantic.sum() * 0.0
        return zero, zero
    logits = upsampled[present, 0].flatten(1)
    union = torch.stack([targets.masks[b].amax(0) for b in present]).flatten(1).to(logits.dtype)
    focal = sigmoid_focal_loss(
        logits, union, len(present), alpha=SEMANTIC_FOCAL_ALPHA, gamma=SEMANTIC_FOCAL_GAMMA
    )
    return focal, dice_loss(logits, union, len(present))


def layer_losses(
    logits: torch.Tensor,
    presence: torch.Tensor,
    boxes: torch.Tensor,
    targets: PairTargets,
    num_boxes: float,
    masks: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """One decoder layer's unweighted losses: (B, Q) class logits, (B,) presence logits,
    (B, Q, 4) boxes; `masks` (B, Q, h, w) only for the layer the mask losses supervise."""
    queries, ious, matched_boxes, matched_gt, matched_masks, gt_masks = [], [], [], [], [], []
    for b, gt in enumerate(targets.boxes):
        q, j = match(logits[b], boxes[b], gt)
        queries.append(q)
        pred = boxes[b, q]
        with torch.no_grad():
            iou = torch.diag(box_iou(box_cxcywh_to_xyxy(pred), box_cxcywh_to_xyxy(gt[j])))
        ious.append(iou)
        matched_boxes.append(pred)
        matched_gt.append(gt[j])
        if masks is not None:
            matched_masks.append(masks[b, q])
            gt_masks.append(targets.masks[b][j])
    present = targets.present.to(logits.device)
    l1, giou = box_losses(torch.cat(matched_boxes), torch.cat(matched_gt), num_boxes)
    out = {
        "loss_bbox": l1,
        "loss_giou": giou,
        "loss_ce": iou_aware_bce(logits, queries, ious, present),
        "presence_loss": presence_loss(presence, present),
    }
    if masks is not None:
        out["loss_mask"], out["loss_dice"] = mask_losses(
            torch.cat(matched_masks), torch.cat(gt_masks), num_boxes
        )
    return out


def detector_losses(
    outputs: LayerOutputs, targets: PairTargets, num_boxes: float, num_clips: int = 1
) -> dict[str, torch.Tensor]:
    """Weighted losses of every decoder layer (the last layer's keys bare, earlier layers'
    suffixed `_0`, `_1`, ...) and of the semantic map. The per-box terms divide by `num_boxes`
    (the batch's ground-truth count); the averaged terms (classification, presence, semantic)
    by `num_clips`, so the trainer's sum over a batch's clips is the batch's loss."""
    layers = outputs.class_logits.shape[0]
    weighted: dict[str, torch.Tensor] = {}
    for layer in range(layers):
        last = layer == layers - 1
        losses = layer_losses(
            outputs.class_logits[layer],
            outputs.presence_logits[layer],
            outputs.boxes[layer],
            targets,
            num_boxes,
            outputs.masks if last else None,
        )
        suffix = "" if last else f"_{layer}"
        for key, value in losses.items():
            if key in ("loss_ce", "presence_loss"):
                value = value / num_clips
            weighted[f"{key}{suffix}"] = WEIGHTS[key] * value
    focal, dice = semantic_losses(outputs.semantic, targets)
    weighted["loss_semantic_seg"] = WEIGHTS["loss_semantic_seg"] * focal / num_clips
    weighted["loss_semantic_dice"] = WEIGHTS["loss_semantic_dice"] * dice / num_clips
    return weighted
