"""Which stored frames the tracker attends to when it tracks frame t: up to four conditioning
frames closest in time, and the non-conditioning frames chosen by memory selection (frames whose
score passes the threshold, walking back from t-1, t-1 always in); the object pointers of the
selected conditioning frames and of the chosen frames but the earliest. Mirrors the authors'
`select_closest_cond_frames`, `frame_filter` and `_prepare_memory_conditioned_features`."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class FrameMemory:
    """One frame's stored outputs for the objects of a tracker state (N of them)."""

    #: (N, 1, h, w) low-res mask logits
    pred_masks: torch.Tensor
    #: (N, d)
    obj_ptr: torch.Tensor
    #: (N, 1)
    object_score_logits: torch.Tensor
    #: the chosen masks' IoU estimates: (N,) when tracked, (N, 1) when given
    iou_score: torch.Tensor
    #: the frame's memory-selection score (tracked frames only)
    eff_iou_score: torch.Tensor | None = None
    #: (N, mem_dim, h', w') bfloat16, once encoded
    maskmem_features: torch.Tensor | None = None

    def select(self, rows: list[int]) -> FrameMemory:
        """The outputs of some objects only (the score recomputed for them)."""
        iou = self.iou_score[rows]
        scores = self.object_score_logits[rows]
        memory = None if self.maskmem_features is None else self.maskmem_features[rows]
        return FrameMemory(
            self.pred_masks[rows],
            self.obj_ptr[rows],
            scores,
            iou,
            memory_score(scores, iou),
            memory,
        )


def memory_score(object_score_logits: torch.Tensor, iou_score: torch.Tensor) -> torch.Tensor:
    """The authors' frame score: object presence rescaled to [0, 1] times the IoU estimate,
    averaged; (N, 1) x (N,) broadcast to (N, N) before the mean, as theirs does."""
    presence = torch.where(
        object_score_logits > 0,
        object_score_logits.sigmoid() * 2 - 1,
        torch.zeros_like(object_score_logits),
    )
    return (presence * iou_score).mean()


def closest_cond_frames(
    frame: int, cond: dict[int, FrameMemory], limit: int
) -> tuple[dict[int, FrameMemory], dict[int, FrameMemory]]:
    """(selected, unselected) conditioning frames: all when at most `limit`, otherwise the
    closest before and at-or-after `frame`, then the nearest others."""
    if limit == -1 or len(cond) <= limit:
        return dict(cond), {}
    selected: dict[int, FrameMemory] = {}
    before = max((t for t in cond if t < frame), default=None)
    if before is not None:
        selected[before] = cond[before]
    after = min((t for t in cond if t >= frame), default=None)
    if after is not None:
        selected[after] = cond[after]
    rest = sorted((t for t in cond if t not in selected), key=lambda t: abs(t - frame))
    for t in rest[: limit - len(selected)]:
        selected[t] = cond[t]
    return selected, {t: v for t, v in cond.items() if t not in selected}


def chosen_memory_frames(
    frame: int, non_cond: dict[int, FrameMemory], most: int, threshold: float
) -> list[int]:
    """Memory selection: earlier tracked frames (frame 0 never) scoring above `threshold`,
    latest first until `most - 1`, in time order; frame - 1 always last."""
    if frame == 0:
        return []
    chosen: list[int] = []
    for t in range(frame - 1, 0, -1):
        out = non_cond.get(t)
        if out is None or out.eff_iou_score is None:
            continue
        if float(out.eff_iou_score) > threshold:
            chosen.insert(0, t)
        if len(chosen) >= most - 1:
            break
    if frame - 1 not in chosen:
        chosen.append(frame - 1)
    return chosen


@dataclass(frozen=True)
class MemoryPlan:
    """What frame t attends to: spatial memories as (temporal slot, frame output) with slot 0
    for conditioning frames, and object pointers as (distance, frame output)."""

    spatial: list[tuple[int, FrameMemory]]
    pointers: list[tuple[int, FrameMemory]]


def plan_memory(
    frame: int,
    cond: dict[int, FrameMemory],
    non_cond: dict[int, FrameMemory],
    num_frames: int,
    num_maskmem: int,
    max_cond: int,
    max_pointers: int,
    threshold: float,
) -> MemoryPlan:
    selected, unselected = closest_cond_frames(frame, cond, max_cond)
    most = min(num_frames, max_pointers)
    chosen = chosen_memory_frames(frame, non_cond, most, threshold)
    spatial = [(0, out) for out in selected.values()]
    for slot in range(1, num_maskmem):
        back = num_maskmem - slot
        if back > len(chosen):
            continue
        t = chosen[-back]
        out = non_cond.get(t, unselected.get(t))
        if out is not None:
            spatial.append((slot, out))
    pointers = [(frame - t, out) for t, out in selected.items() if t <= frame]
    for distance in range(1, most):
        if distance >= len(chosen):
            break
        t = chosen[-distance]
        out = non_cond.get(t, unselected.get(t))
        if out is not None:
            pointers.append((distance, out))
    return MemoryPlan(spatial, pointers)
