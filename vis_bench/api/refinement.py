"""Whole-video refinement, an optional capability: a video's tracks decided once it has been seen
whole, their masks made in a second pass over its frames.

A method declares `linking=WholeVideoRefinement()` in its spec and implements `RefinesVideos`:
its clips carry a per-video state as with `CarriedState`; at the video's end `refine_video` turns
that state into the video's predictions and whatever making their masks needs (`VideoRefinement`),
then the harness streams the frames a second time, a window at a time, and `refined_masks` gives
the chosen slots' mask logits (vis_bench/engine/refinement.py). Registration refuses the
declaration without both hooks, and the hooks without the declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch

#: what a refining class implements
HOOKS = ("refine_video", "refined_masks")


@dataclass
class VideoRefinement:
    """What a refining method decides at a video's end (`refine_video`).

    predictions: (slot, dataset category id, score) in the method's order; a slot may appear
    under several categories. data: whatever the method needs to make the chosen slots' masks
    in the second pass (`refined_masks`), e.g. each frame's refined queries of those slots.
    """

    predictions: list[tuple[int, int, float]]
    data: Any = None

    @property
    def slots(self) -> list[int]:
        """The slots whose masks the second pass makes, ascending (the rows of
        `refined_masks`)."""
        return sorted({int(slot) for slot, _, _ in self.predictions})


class RefinesVideos(Protocol):
    """The hooks of a `WholeVideoRefinement` method."""

    def refine_video(self, state: Any) -> VideoRefinement:
        """The state the video's clips carried -> its predictions and what `refined_masks`
        needs."""
        ...

    def refined_masks(
        self, frames: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """Preprocessed frames [t, 3, h, w] (the video's frames `frame_indices`) -> mask logits
        [S, t, h', w'] of the refinement's `slots` in that order (foreground where > 0), at the
        resolution the method's mask resize takes."""
        ...
