"""SAM 3's occlusion-based suppression before memory encoding: of two tracked masks overlapping
with IoU >= 0.7, the one occluded more recently (empty or suppressed on a later frame) is set
to "no object", provided the other was occluded once; a masklet removed on this frame counts
as occluded latest."""

from __future__ import annotations

import torch

from vis_bench.methods.sam3.video_detections import mask_iou

#: `suppress_overlapping_based_on_recent_occlusion_threshold` of the release
OVERLAP_IOU = 0.7
NEVER_OCCLUDED = -1
ALWAYS_OCCLUDED = 100000  # later than any frame: a masklet removed by hotstart
NO_OBJECT_LOGIT = -10.0


def suppress_recently_occluded(
    frame: int,
    masks: torch.Tensor,
    ids: list[int],
    last_occluded: dict[int, int],
    newly_removed: set[int],
    threshold: float = OVERLAP_IOU,
) -> tuple[torch.Tensor, dict[int, int]]:
    """Tracked mask logits (M, h, w) of `ids` -> the masks to encode (suppressed ones at the
    no-object logit) and each id's last occluded frame (ids removed on this frame dropped)."""
    if not ids:
        return masks, {k: v for k, v in last_occluded.items() if k not in newly_removed}
    binary = masks > 0
    fallback = [ALWAYS_OCCLUDED if obj in newly_removed else NEVER_OCCLUDED for obj in ids]
    last = torch.tensor(
        [last_occluded.get(obj, default) for obj, default in zip(ids, fallback, strict=True)]
    )
    suppress = torch.zeros(len(ids), dtype=torch.bool)
    if len(ids) > 1:
        pairs = torch.triu(mask_iou(binary, binary) >= threshold, diagonal=1).cpu()
        later_i = last[:, None] > last[None, :]
        suppress_i = pairs & later_i & (last[None, :] > NEVER_OCCLUDED)
        suppress_j = pairs & later_i.t() & (last[:, None] > NEVER_OCCLUDED)
        suppress = suppress_i.any(dim=1) | suppress_j.any(dim=0)
    empty = ~binary.flatten(1).any(dim=1).cpu()
    last = torch.where(empty | suppress, torch.full_like(last, frame), last)
    updated = {obj: int(v) for obj, v in zip(ids, last.tolist(), strict=True)}
    out = masks.clone()
    out[suppress.to(masks.device)] = NO_OBJECT_LOGIT
    return out, {k: v for k, v in updated.items() if k not in newly_removed}
