"""SeqFormer's training forward (SeqFormer.forward with a criterion in models/segmentation.py).

Frames are zero-padded to a multiple of 32 (the authors' `size_divisibility`), the clip goes
through the backbone and transformer once, and every decoder layer is matched to the ground
truth on its own; the mask branch then runs only for the queries that layer matched, with their
reference points in pixels of the unpadded input.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vis_bench.api.training import ClipTargets
from vis_bench.methods.families.seqformer.criterion import (
    SeqFormerLossWeights,
    hungarian_match,
    layer_losses,
    mask_targets,
)
from vis_bench.methods.families.seqformer.model import SeqFormer

SIZE_DIVISIBILITY = 32


def seqformer_frame_indices(
    rng: np.random.Generator, length: int, num_frames: int, reference: int
) -> list[int]:
    """The authors' YTVOS loader: the reference, a frame 1-3 before and 1-3 after it, the rest
    from outside that span (repeats only when the video is shorter than the clip)."""
    before, after = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    picked = [reference, max(0, reference - before), min(length - 1, reference + after)]
    if num_frames <= len(picked):
        return sorted(picked[:num_frames])
    need = num_frames - len(picked)
    # the authors' span excludes frames strictly between the local ones (their slice keeps the
    # last local frame itself available)
    outside = list(range(min(picked))) + list(range(max(picked), length))
    if len(outside) > need:
        picked += [outside[i] for i in rng.choice(len(outside), need, replace=False)]
    elif length >= need:
        picked += rng.choice(length, need, replace=False).tolist()
    else:  # a video shorter than the clip: every frame, then some twice
        picked += [*range(length), *rng.choice(length, need - length, replace=False).tolist()]
    return sorted(int(t) for t in picked)


def pad_clip(
    frames: torch.Tensor, divisor: int = SIZE_DIVISIBILITY
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames [T, 3, H, W] zero-padded at the bottom/right to multiples of `divisor`, and the
    padding mask [T, Hp, Wp] (True = padded)."""
    t, _, h, w = frames.shape
    ph, pw = -(-h // divisor) * divisor, -(-w // divisor) * divisor
    padded = F.pad(frames, (0, pw - w, 0, ph - h))
    mask = torch.ones((t, ph, pw), dtype=torch.bool, device=frames.device)
    mask[:, :h, :w] = False
    return padded, mask


def seqformer_losses(
    model: SeqFormer,
    frames: torch.Tensor,
    targets: ClipTargets,
    num_instances: float,
    weights: SeqFormerLossWeights | None = None,
) -> dict[str, torch.Tensor]:
    """Weighted losses of one clip: the last layer's under their names, layer i's with `_i`."""
    weights = weights or SeqFormerLossWeights()
    h, w = frames.shape[-2:]
    padded, image_mask = pad_clip(frames)
    features, feature_masks = model.detr.backbone(padded, image_mask)
    out = model.encode_decode(features, feature_masks, image_mask)
    stride4 = mask_targets(
        targets.masks.to(frames), tuple(padded.shape[-2:]), model.mask_out_stride
    )
    num_layers = out["hs"].shape[0]
    losses: dict[str, torch.Tensor] = {}
    for lvl in range(num_layers):
        heads = model.layer_heads(out, lvl, (w, h))
        queries, instances = hungarian_match(
            heads["pred_logits"][0], heads["pred_boxes"][0], targets, weights
        )
        masks = model.query_masks(
            out["mask_feats"],
            heads["mask_reference_points_px"][0][:, queries],
            heads["dynamic_params"][0, queries],
        )
        layer = layer_losses(
            heads, masks, (queries, instances), targets, stride4, num_instances, weights
        )
        suffix = "" if lvl == num_layers - 1 else f"_{lvl}"
        losses.update({f"{name}{suffix}": value for name, value in layer.items()})
    return losses
