"""SAM 3's per-frame masks at video resolution: tracked masklets from their propagated low-res
masks, new masklets from their detection masks after hole filling and sprinkle removal, and
reconditioned masklets from their detection masks."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

#: `fill_hole_area` of the release: components up to this many pixels are holes or sprinkles
FILL_HOLE_AREA = 16
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def _component_areas(binary: torch.Tensor) -> torch.Tensor:
    """(N, H, W) bool -> (N, H, W) int: each pixel's 8-connected component size (0 off it)."""
    out = np.zeros(binary.shape, dtype=np.int64)
    for i, mask in enumerate(binary.cpu().numpy()):
        labels, count = ndimage.label(mask, structure=_EIGHT_CONNECTED)
        if count:
            sizes = np.bincount(labels.ravel())
            sizes[0] = 0
            out[i] = sizes[labels]
    return torch.from_numpy(out).to(binary.device)


def fill_holes(mask_logits: torch.Tensor, max_area: int = FILL_HOLE_AREA) -> torch.Tensor:
    """(N, H, W) logits: background components of at most `max_area` pixels become 0.1, then
    foreground components of at most min(max_area, half the mask's area) become -0.1."""
    if max_area <= 0:
        return mask_logits
    background = mask_logits <= 0
    small = background & (_component_areas(background) <= max_area)
    mask_logits = torch.where(small, torch.full_like(mask_logits, 0.1), mask_logits)
    foreground = mask_logits > 0
    limit = (foreground.flatten(1).sum(1) // 2).clamp(max=max_area)[:, None, None]
    small = foreground & (_component_areas(foreground) <= limit)
    return torch.where(small, torch.full_like(mask_logits, -0.1), mask_logits)


def _to_video(mask_logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if mask_logits.shape[0] == 0:
        return torch.zeros(0, *size, dtype=torch.bool, device=mask_logits.device)
    resized = F.interpolate(mask_logits[:, None], size=size, mode="bilinear", align_corners=False)
    return resized[:, 0] > 0


def frame_masks(
    size: tuple[int, int],
    track_ids: list[int],
    track_masks: torch.Tensor,
    new_ids: list[int],
    new_det_masks: torch.Tensor,
    reconditioned: dict[int, torch.Tensor] | None = None,
) -> dict[int, torch.Tensor]:
    """Masklet id -> (H, W) bool mask of one frame at video size `size` (H, W).

    `track_masks` (M, h, w) are the propagated masks of `track_ids` (already hole-filled),
    `new_det_masks` (K, h, w) the detection masks of the masklets born on this frame, and
    `reconditioned` maps a masklet to the detection mask that replaces its output."""
    out = dict(zip(track_ids, _to_video(track_masks, size), strict=True))
    out.update(zip(new_ids, _to_video(fill_holes(new_det_masks), size), strict=True))
    for obj, det_mask in (reconditioned or {}).items():
        out[obj] = _to_video(det_mask[None].float(), size)[0]
    return out
