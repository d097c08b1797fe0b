"""SAM 3's per-frame outputs as the authors' `propagate_in_video` yields them: buffered
`hotstart_delay` frames (all at the end of the pass), masklets removed by hotstart at any time
hidden on every frame, empty masks dropped, boxes from the masks, then an object-wise
non-overlap (a contested pixel goes to the object with the highest tracker score of the
frame)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch

from vis_bench.methods.sam3.mask_overlap import first_max_index
from vis_bench.methods.sam3.video_step import FrameResult


@dataclass(frozen=True)
class FrameOutput:
    """One yielded frame: sorted masklet ids, their birth scores, boxes (normalised xywh, from
    the masks before the non-overlap) and (N, H, W) bool masks."""

    frame: int
    obj_ids: list[int]
    probs: torch.Tensor
    boxes_xywh: torch.Tensor
    masks: torch.Tensor


def masks_to_boxes(masks: torch.Tensor) -> torch.Tensor:
    """(N, H, W) bool -> (N, 4) inclusive xyxy pixel boxes, as the authors' default (perflib)
    `masks_to_boxes` gives them (an empty mask gets (W, H, 0, 0))."""
    n, h, w = masks.shape
    x_any = masks.any(dim=1)  # (N, W): columns holding the object
    y_any = masks.any(dim=2)  # (N, H)
    xs = torch.arange(w, device=masks.device)
    ys = torch.arange(h, device=masks.device)
    boxes = torch.stack(
        [
            torch.where(x_any, xs, w).amin(dim=1) if n else xs.new_zeros(0),
            torch.where(y_any, ys, h).amin(dim=1) if n else ys.new_zeros(0),
            (x_any * xs).amax(dim=1) if n else xs.new_zeros(0),
            (y_any * ys).amax(dim=1) if n else ys.new_zeros(0),
        ],
        dim=1,
    )
    return boxes.float()


def object_wise_non_overlap(masks: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """(N, H, W) bool: a pixel stays with the object of highest score among those covering it
    (the first on ties); an object with a score <= 0 keeps nothing."""
    if masks.shape[0] <= 1:
        return masks
    per_pixel = torch.where(masks, scores[:, None, None], torch.zeros_like(scores)[:, None, None])
    winner = first_max_index(per_pixel)
    own = winner == torch.arange(masks.shape[0], device=masks.device)[:, None, None]
    return masks & own & (per_pixel > 0)


def postprocess(result: FrameResult, hidden: set[int], video_size: tuple[int, int]) -> FrameOutput:
    """A step's result -> what the authors yield for its frame, with `hidden` masklets left out."""
    ids = sorted(result.masks)
    h, w = video_size
    if not ids:
        return FrameOutput(
            result.frame,
            [],
            torch.zeros(0),
            torch.zeros(0, 4),
            torch.zeros(0, h, w, dtype=torch.bool),
        )
    masks = torch.stack([result.masks[i] for i in ids])
    keep = [k for k, obj in enumerate(ids) if bool(masks[k].any()) and obj not in hidden]
    ids = [ids[k] for k in keep]
    masks = masks[keep]
    probs = torch.tensor([result.scores[i] for i in ids], dtype=torch.float32)
    tracker = torch.tensor([result.tracker_scores.get(i, 0.0) for i in ids], dtype=torch.float32)
    boxes = masks_to_boxes(masks)
    scale = torch.tensor([w, h, w, h], dtype=torch.float32, device=boxes.device)
    xywh = torch.cat([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], dim=1) / scale
    masks = object_wise_non_overlap(masks, tracker.to(masks.device))
    return FrameOutput(result.frame, ids, probs, xywh, masks)


class OutputBuffer:
    """One pass's outputs as its steps arrive: each frame's output `delay` frames late (all
    remaining ones after `last_frame`), hiding every masklet removed up to the frame being
    processed; a step's result is dropped once its frame is output."""

    def __init__(self, delay: int, last_frame: int, video_size: tuple[int, int]) -> None:
        self.delay, self.last_frame, self.video_size = delay, last_frame, video_size
        self.buffer: list[FrameResult] = []
        self.removed: set[int] = set()

    def push(self, result: FrameResult) -> list[FrameOutput]:
        """The outputs ready once `result` (the next frame's step) is known."""
        if self.delay <= 0:  # without buffering the authors hide no removed masklet
            return [postprocess(result, result.suppressed, self.video_size)]
        self.buffer.append(result)
        self.removed |= result.removed
        if result.frame == self.last_frame:
            ready, self.buffer = self.buffer, []
        elif len(self.buffer) >= self.delay:
            ready, self.buffer = self.buffer[:1], self.buffer[1:]
        else:
            ready = []
        return [
            postprocess(item, self.removed | item.suppressed, self.video_size) for item in ready
        ]


def buffered_outputs(
    results: Iterable[FrameResult], delay: int, last_frame: int, video_size: tuple[int, int]
) -> Iterator[FrameOutput]:
    """Every output of a pass's `results` (`OutputBuffer`)."""
    buffer = OutputBuffer(delay, last_frame, video_size)
    for result in results:
        yield from buffer.push(result)
