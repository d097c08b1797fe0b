"""Point sampling of masks, as Mask2Former takes it from detectron2's PointRend.

Mask2Former supervises masks at a few thousand points instead of every pixel (its training
memory stays flat in the image size). `point_sample` reads a map at points given in [0, 1]
coordinates, the same way whatever the map's resolution, so stride-4 predictions and full-size
ground truth are compared at the same places. `uncertain_point_coords_with_randomness` picks the
points of the mask loss: mostly where the prediction is least certain, the rest uniformly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def point_sample(inputs: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear values of maps [N, C, H, W] at points [N, P, 2] (x, y in [0, 1]) -> [N, C, P].

    detectron2's point_sample: `grid_sample` at 2 * coords - 1 with align_corners=False (so 0
    and 1 are the outer edges of the border pixels) and zeros outside the map. A 4-d grid
    [N, Hg, Wg, 2] gives [N, C, Hg, Wg].
    """
    grid = 2.0 * coords - 1.0
    if coords.dim() == 3:
        return F.grid_sample(inputs, grid.unsqueeze(2), align_corners=False).squeeze(3)
    return F.grid_sample(inputs, grid, align_corners=False)


def mask_uncertainty(logits: torch.Tensor) -> torch.Tensor:
    """-|logit| of class-agnostic mask logits [R, 1, ...]: highest where the mask is undecided
    (Mask2Former's calculate_uncertainty)."""
    if logits.shape[1] != 1:
        raise ValueError(f"expected one mask logit per point, got {logits.shape[1]} channels")
    return -logits.abs()


def uncertain_point_coords_with_randomness(
    logits: torch.Tensor,
    uncertainty_fn: Callable[[torch.Tensor], torch.Tensor],
    num_points: int,
    oversample_ratio: float,
    importance_sample_ratio: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Points [R, num_points, 2] in [0, 1] for mask logits [R, 1, H, W] (PointRend's training
    sampling, as detectron2's get_uncertain_point_coords_with_randomness).

    Draws int(num_points * oversample_ratio) uniform points per mask, keeps the
    int(importance_sample_ratio * num_points) whose sampled logits are the most uncertain
    (uncertainty computed on the sampled values, not on the map), and fills up with fresh
    uniform points. `generator` (on the logits' device) makes the draws reproducible.
    """
    if oversample_ratio < 1:
        raise ValueError(f"oversample_ratio must be >= 1, got {oversample_ratio}")
    if not 0 <= importance_sample_ratio <= 1:
        raise ValueError(
            f"importance_sample_ratio must be in [0, 1], got {importance_sample_ratio}"
        )
    num_masks = logits.shape[0]
    num_sampled = int(num_points * oversample_ratio)
    options = {"device": logits.device, "generator": generator}
    candidates = torch.rand(num_masks, num_sampled, 2, **options)
    uncertainty = uncertainty_fn(point_sample(logits, candidates))  # [R, 1, num_sampled]
    num_uncertain = int(importance_sample_ratio * num_points)
    keep = torch.topk(uncertainty[:, 0, :], k=num_uncertain, dim=1).indices
    coords = torch.gather(candidates, 1, keep[..., None].expand(-1, -1, 2))
    num_random = num_points - num_uncertain
    if num_random > 0:
        coords = torch.cat([coords, torch.rand(num_masks, num_random, 2, **options)], dim=1)
    return coords
