"""A toy method that refines whole videos, as DVIS++'s offline refiner does: defined entirely
here, it declares `WholeVideoRefinement`, keeps one number per frame in its state and decides
its tracks only at the video's end.

Its state is each frame's mean brightness; at the end the video's threshold is the mean of all
of them, which no clip alone knows. Two tracks: the pixels brighter than the video's threshold,
and the others; their masks come from the second pass over the frames (logit = distance to the
threshold), so every clip schedule gives the same results.
"""

from __future__ import annotations

from typing import Any

import torch

from tests.helpers.toy_method import ToyOptions, ToyPlugin
from vis_bench.api import ClipResult, MethodSpec, WholeVideoRefinement, register_method
from vis_bench.api.refinement import VideoRefinement


@register_method("toy-refining")
class ToyRefiningPlugin(ToyPlugin):
    spec = MethodSpec(
        name="toy-refining",
        summary="test-only toy method that refines whole videos at their end",
        options=ToyOptions,
        preprocessing=ToyPlugin.spec.preprocessing,
        notes="test-only toy method",
        training=ToyPlugin.spec.training,
        linking=WholeVideoRefinement(),
    )

    def infer_clip(
        self, frames: torch.Tensor, state: dict[str, Any] | None = None, seen: int = 0
    ) -> ClipResult:
        state = state or {"means": []}
        self.model(frames[:1])  # something for the FLOP counter
        means = [float(m) for m in frames[seen:].mean(dim=(1, 2, 3))]
        return ClipResult(
            scores=torch.zeros(0),
            labels=torch.zeros(0, dtype=torch.long),
            masks=torch.zeros(0),
            state={"means": state["means"] + means},
        )

    def refine_video(self, state: dict[str, Any]) -> VideoRefinement:
        threshold = sum(state["means"]) / len(state["means"])
        label = int(self.options.label)
        return VideoRefinement([(1, label, 0.8), (0, label, 0.9)], {"threshold": threshold})

    def refined_masks(
        self, frames: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        gray = frames.mean(1)  # [t, h, w]
        above = gray - refinement.data["threshold"]
        return torch.stack([above, -above])  # slots 0 and 1
