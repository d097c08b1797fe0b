"""SAM 3's per-frame detections in the video model: the authors' frame preprocessing (PIL resize
to the model's square size, /255, then (x - 0.5) / 0.5 in float16), and the detections the
tracker association reads: mask NMS among queries above 0.5, then those above 0.5 kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

#: `score_threshold_detection` (also the NMS pre-filter) and `det_nms_thresh` of the release
SCORE_THRESHOLD = 0.5
NMS_IOU_THRESHOLD = 0.1
#: the logit the authors give a suppressed detection
SUPPRESSED_LOGIT = -1e4


def preprocess_video_frames(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 frames (T, H, W, 3) -> (T, 3, size, size) float16, as the authors' video loader
    makes them (PIL's default resampling, normalisation in float16)."""
    out = []
    for frame in frames:
        resized = Image.fromarray(frame).resize((size, size))
        x = torch.from_numpy(np.asarray(resized).copy()).permute(2, 0, 1).float() / 255.0
        x = x.half()
        out.append((x - 0.5) / 0.5)
    return torch.stack(out)


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) IoU of binary masks (N, H, W) and (M, H, W); 0 where both are empty."""
    a, b = a.flatten(1).float(), b.flatten(1).float()
    inter = a @ b.t()
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1.0), torch.zeros_like(inter))


def nms_logits(
    logits: torch.Tensor,
    masks: torch.Tensor,
    threshold: float = SCORE_THRESHOLD,
    iou_threshold: float = NMS_IOU_THRESHOLD,
) -> torch.Tensor:
    """(Q,) joint logits with every query above the score threshold that a higher-scoring kept
    query's mask overlaps with IoU > `iou_threshold` (the release's 0.1) set to the suppressed
    logit."""
    probs = logits.sigmoid()
    valid = torch.nonzero(probs > threshold).flatten()
    order = valid[torch.argsort(probs[valid], descending=True, stable=True)]
    # read as Python floats in one copy (the same comparisons): indexing a GPU tensor in the
    # loop waited for the device once per pair read
    ious = mask_iou(masks[order] > 0, masks[order] > 0).tolist()
    kept: list[int] = []
    out = logits.clone()
    for rank, query in enumerate(order.tolist()):
        if any(ious[rank][k] > iou_threshold for k in kept):
            out[query] = SUPPRESSED_LOGIT
        else:
            kept.append(rank)
    return out


@dataclass(frozen=True)
class FrameDetections:
    """The detections of one frame and prompt, in query order."""

    #: (N, 4) normalised xyxy
    boxes: torch.Tensor
    #: (N, h, w) mask logits
    masks: torch.Tensor
    #: (N,) probabilities
    scores: torch.Tensor


def frame_detections(
    logits: torch.Tensor,
    boxes_xyxy: torch.Tensor,
    masks: torch.Tensor,
    threshold: float = SCORE_THRESHOLD,
    nms_iou: float = NMS_IOU_THRESHOLD,
) -> FrameDetections:
    """One query set's (Q, 1) joint logits, (Q, 4) boxes and (Q, h, w) masks -> its detections
    (`threshold`: the builder's `score_threshold_detection`; `nms_iou`: its `det_nms_thresh`)."""
    probs = nms_logits(logits.squeeze(-1), masks, threshold, nms_iou).sigmoid()
    keep = probs > threshold
    return FrameDetections(boxes=boxes_xyxy[keep], masks=masks[keep], scores=probs[keep])
