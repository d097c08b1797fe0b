"""The tracker's pixel-wise rules between objects' masks: the non-overlap of conditioning
memories, the suppression of masks that overlap would shrink, and the bilinear resize they use."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vis_bench.methods.sam3.tracker import MASK_LOGIT_BIAS

#: `_suppress_shrinked_masks`: a mask keeping less than this share of its area is suppressed
SHRINK_RATIO = 0.3


def first_max_index(values: torch.Tensor) -> torch.Tensor:
    """`values.argmax(dim=0, keepdim=True)` (the first maximum on ties), reduced over the last
    dimension of a contiguous copy: a CPU reduction across the outer dimension of a few masks
    runs at about a tenth of the speed of one along rows."""
    return values.movedim(0, -1).contiguous().argmax(dim=-1).unsqueeze(0)


def non_overlapping(mask_logits: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): each pixel kept only by the object with the highest logit; the others
    are clamped to at most -10."""
    if mask_logits.shape[0] == 1:
        return mask_logits
    winner = first_max_index(mask_logits)
    keep = (
        winner == torch.arange(mask_logits.shape[0], device=mask_logits.device)[:, None, None, None]
    )
    return torch.where(keep, mask_logits, mask_logits.clamp(max=MASK_LOGIT_BIAS))


def suppress_shrunk(mask_logits: torch.Tensor) -> torch.Tensor:
    """Masks that would keep under 30% of their area after the pixel-wise non-overlap are
    clamped to at most -10; the others are left as they are (and may overlap)."""
    before = (mask_logits > 0).sum(dim=(-1, -2)).clamp(min=1)
    after = (non_overlapping(mask_logits) > 0).sum(dim=(-1, -2))
    keep = (after / before) >= SHRINK_RATIO
    return torch.where(keep[..., None, None], mask_logits, mask_logits.clamp(max=MASK_LOGIT_BIAS))


def resize(x: torch.Tensor, size: tuple[int, int], antialias: bool) -> torch.Tensor:
    """Bilinear resize of (N, 1, H, W), skipped when the size already matches."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=antialias)
