"""SAM 3's VIS evaluation protocol (the authors' `Sam3VideoInference.forward`): one pass per
text prompt, each starting with `add_prompt` on frame 0 (a fresh state; frame 0's step runs,
its output is not yielded) and then propagating over every frame from 0 (frame 0 runs again,
now with the tracks born on it). A masklet's ids are offset past the previous prompts' ids; it
is kept when it appears in some yielded frame, with its final score (its birth probability,
-1e4 if hotstart removed it) and the prompt's label."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.methods.sam3.masklet_masks import MaskletMasks, encode_masks
from vis_bench.methods.sam3.video_outputs import FrameOutput
from vis_bench.methods.sam3.video_step import FrameResult


@dataclass(frozen=True)
class PromptRun:
    """One prompt's pass: `add_prompt`'s output, every step's result (frame 0 twice) and the
    yielded outputs (both empty unless kept: `Sam3VideoModel.run_frames`), the final masklet
    scores."""

    add_prompt: FrameOutput
    steps: list[FrameResult]
    outputs: list[FrameOutput]
    final_scores: dict[int, float]


@dataclass(frozen=True)
class VideoMasklet:
    """One masklet of the video: score, label and its masks, held as RLE."""

    obj_id: int
    score: float
    label: int
    held: MaskletMasks

    @property
    def masks(self) -> torch.Tensor:
        """(T, H, W) bool masks, empty where absent."""
        return self.held.dense()


@dataclass(frozen=True)
class EncodedOutput:
    """A yielded frame's masklet ids and their masks as RLE: what the masklets keep of it."""

    frame: int
    obj_ids: list[int]
    rles: list[dict[str, Any]]


def encode_output(out: FrameOutput) -> EncodedOutput:
    """A yielded frame, its masks encoded."""
    return EncodedOutput(out.frame, list(out.obj_ids), encode_masks(out.masks))


def video_masklets(
    runs: Sequence[PromptRun], labels: Sequence[int], num_frames: int, video_size: tuple[int, int]
) -> list[VideoMasklet]:
    """All prompts' masklets in the authors' order (prompt by prompt, then by id)."""
    encoded = [[encode_output(out) for out in run.outputs] for run in runs]
    scores = [run.final_scores for run in runs]
    return encoded_masklets(encoded, scores, labels, num_frames, video_size)


def encoded_masklets(
    outputs: Sequence[Sequence[EncodedOutput]],
    final_scores: Sequence[dict[int, float]],
    labels: Sequence[int],
    num_frames: int,
    video_size: tuple[int, int],
) -> list[VideoMasklet]:
    """`video_masklets` from each prompt's encoded outputs and final masklet scores."""
    per_frame: dict[int, dict[int, dict[str, Any]]] = {}
    kept: dict[int, tuple[float, int]] = {}
    for prompt_outputs, scores, label in zip(outputs, final_scores, labels, strict=True):
        start = max(kept, default=-1) + 1
        seen: set[int] = set()
        for out in prompt_outputs:
            frame_masks = per_frame.setdefault(out.frame, {})
            for obj, rle in zip(out.obj_ids, out.rles, strict=True):
                frame_masks[obj + start] = rle
            seen.update(frame_masks)
        for obj, score in scores.items():
            if obj + start in seen:
                kept[obj + start] = (score, label)
    frames = [t for t in sorted(per_frame) if t < num_frames]
    return [
        VideoMasklet(
            obj_id=obj,
            score=score,
            label=label,
            held=MaskletMasks(
                num_frames,
                video_size,
                {t: per_frame[t][obj] for t in frames if obj in per_frame[t]},
            ),
        )
        for obj, (score, label) in kept.items()
    ]


def masklet_boxes(masks: torch.Tensor) -> torch.Tensor:
    """(T, H, W) bool -> (T, 4) inclusive xyxy pixel boxes, (0, 0, 0, 0) on an empty frame, as
    the authors' `mask_to_box` gives them for the evaluator."""
    t, h, w = masks.shape
    xs = torch.arange(w, device=masks.device)[None, None, :].expand(t, h, w)
    ys = torch.arange(h, device=masks.device)[None, :, None].expand(t, h, w)
    flat = masks.flatten(1)
    boxes = torch.stack(
        [
            torch.where(flat, xs.flatten(1), w).min(-1).values,
            torch.where(flat, ys.flatten(1), h).min(-1).values,
            torch.where(flat, xs.flatten(1), -1).max(-1).values,
            torch.where(flat, ys.flatten(1), -1).max(-1).values,
        ],
        dim=-1,
    )
    return torch.where(flat.any(-1, keepdim=True), boxes, torch.zeros_like(boxes))
