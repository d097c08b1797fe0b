"""What each (frame, prompt) pair of a training clip should find: with one prompt per category
name, the positives of a prompt in a frame are that frame's visible instances of its category;
a pair with none teaches the presence token that the concept is absent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from vis_bench.api.training import ClipTargets


@dataclass(frozen=True)
class PairTargets:
    """Ground truth per (frame, prompt) pair, pair `t * P + p` (the detector's image-major
    order)."""

    #: per pair (n, 4) normalised cxcywh boxes
    boxes: list[torch.Tensor]
    #: per pair (n, H, W) {0, 1} masks at the clip's frame size
    masks: list[torch.Tensor]

    @property
    def present(self) -> torch.Tensor:
        """(B,) whether the pair has any instance (the presence token's target)."""
        return torch.tensor([len(b) > 0 for b in self.boxes], dtype=torch.float32)

    @property
    def num_boxes(self) -> int:
        return sum(len(b) for b in self.boxes)


def pair_targets(targets: ClipTargets, category_ids: Sequence[int]) -> PairTargets:
    """Split a clip's instances over its frames and the prompts (`category_ids[p]` is the
    dataset category prompt p names)."""
    boxes, masks = [], []
    frames = targets.masks.shape[1]
    for t in range(frames):
        for category in category_ids:
            chosen = (targets.labels == int(category)) & targets.valid[:, t]
            boxes.append(targets.boxes[chosen, t])
            masks.append(targets.masks[chosen, t])
    return PairTargets(boxes=boxes, masks=masks)
