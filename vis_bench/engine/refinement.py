"""Whole-video refinement: a video's tracks decided at its end, their masks in a second pass.

A method that declares `WholeVideoRefinement` (vis_bench/api/refinement.py) returns from each
clip only the per-video `state` it carries (a tracker's state and small per-frame summaries,
e.g. every frame's queries); `RefinedVideoLinker` hands it back with the next clip, as for `CarriedState`. When the
video's last clip is in, `refine` asks the method for its decision (`refine_video(state)`: the
video's predictions and what making their masks needs); the runner then streams the video's
frames again, a window at a time, and `add_masks` hands each frame's masks of the chosen slots to
the sinks, which resize and RLE-encode them at once. Nothing the size of a frame's feature maps
outlives its window in either pass: a method's per-frame maps (a backbone's and a pixel
decoder's, say) are made again in the second pass instead of being kept for the whole video,
which is what bounds memory on long videos (the method's docs measure it against video length).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from vis_bench.api.refinement import VideoRefinement
from vis_bench.engine.query_tracks import SelectedTrack
from vis_bench.engine.stitching import FrameSink


def refinement_windows(num_frames: int, clip_length: int | str) -> list[range]:
    """The second pass's windows: consecutive, non-overlapping, `clip_length` frames each (the
    whole video for "all"): each frame's masks are made once."""
    if clip_length == "all" or int(clip_length) >= num_frames:
        return [range(0, num_frames)] if num_frames > 0 else []
    size = int(clip_length)
    return [range(s, min(s + size, num_frames)) for s in range(0, num_frames, size)]


class RefinedVideoLinker:
    """One video of a `WholeVideoRefinement` method (see the module docstring)."""

    def __init__(
        self, refine_video: Callable[[Any], VideoRefinement], sinks: Sequence[FrameSink] = ()
    ) -> None:
        self.refine_video = refine_video
        self.sinks = list(sinks)
        #: the method's per-video state from the last clip, until the video is refined
        self.state: Any = None
        self.last_frame = -1
        self.refinement: VideoRefinement | None = None
        self.masked_frames = 0
        self.peak_tensors = 0
        self.peak_bytes = 0

    def seen_frames(self, frames: Sequence[int]) -> int:
        """How many of a clip's first frames earlier clips already covered."""
        return sum(1 for frame in frames if frame <= self.last_frame)

    def add_clip(self, frames: Sequence[int], result: Any) -> None:
        """Keep the state a clip covering `frames` (ascending video indices) returned."""
        if self.refinement is not None:
            raise ValueError("a clip arrived after the video was refined")
        self.state = result.state
        self.last_frame = max(self.last_frame, max(frames, default=-1))

    def refine(self) -> VideoRefinement:
        """The method's decision on the whole video; the carried state is dropped."""
        self.refinement = self.refine_video(self.state)
        self.state = None
        return self.refinement

    def add_masks(self, frames: Sequence[int], masks: torch.Tensor) -> None:
        """Mask logits [S, t, h, w] of the refinement's slots for the video's `frames`."""
        if self.refinement is None:
            raise ValueError("masks arrived before the video was refined")
        slots = self.refinement.slots
        if masks.shape[0] != len(slots) or masks.shape[1] != len(frames):
            raise ValueError(
                f"refined_masks gave {tuple(masks.shape[:2])} (slots, frames) for "
                f"{len(slots)} slots and {len(frames)} frames"
            )
        for i, frame in enumerate(frames):
            for sink in self.sinks:
                sink.frame_final(frame, {slot: masks[k, i] for k, slot in enumerate(slots)}, 0.0)
        self.masked_frames += len(frames)
        self.peak_tensors = max(self.peak_tensors, 1)
        self.peak_bytes = max(self.peak_bytes, masks.numel() * masks.element_size())

    def finish(self) -> list[SelectedTrack]:
        """The method's predictions of the video, one entry per prediction."""
        if self.refinement is None:
            return []
        return [
            SelectedTrack(
                track_id=int(slot),
                label=int(category),
                score=float(score),
                mask_threshold=0.0,
                predictions=[(int(category), float(score))],
            )
            for slot, category, score in self.refinement.predictions
        ]
