"""The ground truth of one training clip, in the one layout every method's criterion reads.

It sits in the toolkit because a method's losses take it (`MethodPlugin.training_losses`), while
the harness's training loop (vis_bench/train/clips.py) builds it from the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: boxes of frames where an instance is absent: the authors' loaders zero them, then clamp at 1e-6
ABSENT_BOX = 1e-6


@dataclass
class ClipTargets:
    """Ground truth of one training clip, at the size of its (augmented) frames.

    labels: int64 [N] dataset category ids; masks: float32 [N, T, H, W] in {0, 1};
    boxes: float32 [N, T, 4] normalised (cx, cy, w, h), `ABSENT_BOX` where the instance is not
    visible; valid: bool [N, T] where it is visible. Instances visible in no frame are dropped.
    """

    labels: torch.Tensor
    masks: torch.Tensor
    boxes: torch.Tensor
    valid: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the frames the targets belong to."""
        return int(self.masks.shape[-2]), int(self.masks.shape[-1])
