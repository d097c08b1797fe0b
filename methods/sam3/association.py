"""SAM 3's association of a frame's detections with the tracked masklets (the planning phase's
first step): mask IoU on a common grid, which tracks are matched or unmatched, which detections
start new masklets, and the high-confidence pairs that may recondition a track."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from vis_bench.methods.sam3.video_detections import mask_iou

#: the released video model's thresholds (`model_builder.py`, `sam3_video_base.py`)
DET_MATCH_IOU = 0.1  # assoc_iou_thresh: a detection this close to a track is not new
TRACK_MATCH_IOU = 0.5  # trk_assoc_iou_thresh: a track this close to a detection is matched
NEW_DETECTION_SCORE = 0.7  # new_det_thresh, ignored while no track exists
HIGH_CONFIDENCE = 0.8  # reconditioning pairs: detection score and IoU
HIGH_IOU = 0.8


@dataclass(frozen=True)
class Association:
    #: indices of the detections that start new masklets
    new_detections: list[int]
    #: ids of non-empty tracks that no detection matches with IoU >= 0.5
    unmatched_tracks: list[int]
    #: ids of tracks whose mask is empty on this frame
    empty_tracks: list[int]
    #: per detection, the ids of the tracks it overlaps with IoU >= 0.1 (several allowed)
    matched_tracks: dict[int, list[int]] = field(default_factory=dict)
    #: track id -> the high-confidence, high-IoU detection that may recondition it
    reconditioning: dict[int, int] = field(default_factory=dict)


def _common_grid(det: torch.Tensor, trk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both mask sets on the smaller of their grids (bilinear, as the authors resize)."""
    if det.shape[-2:] == trk.shape[-2:]:
        return det, trk
    if det.shape[-2] * det.shape[-1] < trk.shape[-2] * trk.shape[-1]:
        trk = F.interpolate(trk[:, None], size=det.shape[-2:], mode="bilinear").squeeze(1)
    else:
        det = F.interpolate(det[:, None], size=trk.shape[-2:], mode="bilinear").squeeze(1)
    return det, trk


def associate(
    det_masks: torch.Tensor,
    det_scores: torch.Tensor,
    trk_masks: torch.Tensor,
    trk_ids: list[int],
    new_detection_score: float = NEW_DETECTION_SCORE,
) -> Association:
    """Detections (N, h, w) mask logits with scores (N,), tracks (M, h', w') mask logits; a
    detection away from every track starts a new one from `new_detection_score` up."""
    n = det_masks.shape[0]
    if not trk_ids:  # no track alive: every detection starts one, whatever its score
        return Association(list(range(n)), [], [])
    nonempty = (trk_masks > 0).flatten(1).any(dim=1).tolist()
    empty = [t for t, keep in zip(trk_ids, nonempty, strict=True) if not keep]
    if n == 0:
        unmatched = [t for t, keep in zip(trk_ids, nonempty, strict=True) if keep]
        return Association([], unmatched, empty)
    det, trk = _common_grid(det_masks, trk_masks)
    ious = mask_iou(det > 0, trk > 0)  # (N, M)
    matched = (ious >= TRACK_MATCH_IOU).any(dim=0).tolist()
    unmatched = [
        t for t, keep, hit in zip(trk_ids, nonempty, matched, strict=True) if keep and not hit
    ]
    scores = det_scores.tolist()
    close = (ious >= DET_MATCH_IOU).tolist()
    best_iou, best_track = ious.max(dim=1)
    new: list[int] = []
    matched_tracks: dict[int, list[int]] = {}
    reconditioning: dict[int, int] = {}
    for d in range(n):
        is_new = scores[d] >= new_detection_score and not any(close[d])
        if is_new:
            new.append(d)
        matched_tracks[d] = [t for t, hit in zip(trk_ids, close[d], strict=True) if hit]
        if not is_new and scores[d] >= HIGH_CONFIDENCE and float(best_iou[d]) >= HIGH_IOU:
            reconditioning[trk_ids[int(best_track[d])]] = d
    return Association(new, unmatched, empty, matched_tracks, reconditioning)
