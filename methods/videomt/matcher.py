"""VidEoMT's clip-consistent matching (`VideoHungarianMatcher_Consistent`, videomt/modeling/
matcher.py, which `videomt_online.from_config` builds; DVIS's training matches the same way).

Every frame of a clip is supervised as an image, but with ONE assignment for the whole clip, so
a query is trained to keep its object from frame to frame, which is what the carried queries
must learn. Instances are matched at the first frame where they are visible: frame by frame in
time order, the instances first seen in that frame are matched to the queries not taken yet,
on that frame's predictions, with the Mask2Former costs (class probability, point-sampled BCE
and Dice). The union of these assignments is every frame's assignment, also on frames where
the instance is absent (its mask target is empty there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from scipy.optimize import linear_sum_assignment

from vis_bench.methods.families.mask2former.matcher import VideoHungarianMatcher, VideoTargets

#: the cost the authors give queries already taken by an earlier frame's instances
TAKEN = 1e6


def first_visible_frames(targets: Sequence[VideoTargets]) -> list[int]:
    """For each instance of a clip given frame by frame (masks [N, 1, h, w] per frame), the
    first frame where its mask is not empty (the authors' first frame whose id is not -1)."""
    visible = torch.stack([t.masks.flatten(1).any(-1) for t in targets], dim=1)  # [N, T]
    if not bool(visible.any(-1).all()):
        raise ValueError("every instance of a clip must be visible in at least one frame")
    return visible.float().argmax(-1).tolist()


@dataclass(frozen=True)
class ClipConsistentMatcher(VideoHungarianMatcher):
    """Mask2Former's costs, one assignment per clip: all targets of one call are the frames of
    ONE clip, in time order (the trainer's criterion is called clip by clip)."""

    @torch.no_grad()
    def __call__(
        self,
        outputs: dict[str, torch.Tensor],
        targets: Sequence[VideoTargets],
        generator: torch.Generator | None = None,
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """pred_logits [T, Q, K + 1] and pred_masks [T, Q, 1, h, w] of the clip's frames -> the
        same (query indices, instance indices) for each of the T frames."""
        logits, masks = outputs["pred_logits"], outputs["pred_masks"]
        if logits.shape[0] != len(targets):
            raise ValueError(
                f"{logits.shape[0]} frames of predictions for {len(targets)} frames of targets"
            )
        first = first_visible_frames(targets) if len(targets[0]) else []
        queries: list[int] = []
        instances: list[int] = []
        for frame in sorted(set(first)):
            new = [i for i, f in enumerate(first) if f == frame]
            target = targets[frame]
            subset = VideoTargets(target.labels[new], target.masks[new])
            cost = self.cost_matrix(logits[frame], masks[frame], subset, generator).cpu()
            cost[queries] = TAKEN
            rows, cols = linear_sum_assignment(cost.numpy())
            queries += rows.tolist()
            instances += [new[c] for c in cols.tolist()]
        assignment = (
            torch.tensor(queries, dtype=torch.int64),
            torch.tensor(instances, dtype=torch.int64),
        )
        return [assignment] * len(targets)
