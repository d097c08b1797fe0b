"""The Mask2Former family's training forward: the clip through the network with every earlier
prediction kept (deep supervision), then the authors' criterion.

The frames are padded to a multiple of 32 as at inference, and the targets with them
(`prepare_video_targets`). A clip-level member (Mask2Former-VIS) matches each query to an
instance over all the clip's frames; a frame-level member (MinVIS) supervises every frame as an
image of its own (`frame_level`). Dataset category ids become class indices as id - 1.
"""

from __future__ import annotations

import dataclasses

import torch

from vis_bench.api.training import ClipTargets
from vis_bench.methods.common.detectron2_input import pad_frames
from vis_bench.methods.families.mask2former.criterion import (
    Mask2FormerLossConfig,
    VideoSetCriterion,
    build_video_criterion,
    clip_losses,
)
from vis_bench.methods.families.mask2former.model import Mask2FormerModel


def criterion_for(model: Mask2FormerModel) -> VideoSetCriterion:
    """The authors' criterion for this network: its classes, no-object weight and depth (the
    configs' DEC_LAYERS counts the learnable queries' prediction, hence + 1)."""
    cfg = model.cfg
    config = dataclasses.replace(
        Mask2FormerLossConfig(),
        no_object_weight=cfg.no_object_weight,
        dec_layers=cfg.dec_layers + 1,
    )
    return build_video_criterion(cfg.num_classes, config)


def mask2former_losses(
    model: Mask2FormerModel,
    criterion: VideoSetCriterion,
    frames: torch.Tensor,
    targets: ClipTargets,
    num_instances: float,
    num_clips: int = 1,
) -> dict[str, torch.Tensor]:
    """Weighted losses of one clip [T, 3, H, W]: the last prediction's under their names, the
    earlier ones' with `_{i}`, normalised over the trainer's whole batch."""
    padded = pad_frames(frames)
    out = model.decode(model.per_frame(padded), keep_aux=True)
    frame_level = not model.sem_seg_head.predictor.temporal
    logits, masks = out.logits, out.masks
    aux = out.aux
    if frame_level:
        # the decoder saw T one-frame videos: regroup them as one clip of T frames
        logits, masks = _as_clip(logits, masks)
        aux = [_as_clip(a_logits, a_masks) for a_logits, a_masks in aux]
    outputs = {
        "pred_logits": logits,
        "pred_masks": masks,
        "aux_outputs": [{"pred_logits": lg, "pred_masks": mk} for lg, mk in aux],
    }
    batch = (num_instances, num_clips)
    return clip_losses(outputs, targets, criterion, padded, batch, frame_level=frame_level)


def _as_clip(logits: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """T one-frame predictions ([T, Q, K+1], [T, Q, 1, h, w]) -> one clip's ([1, T, Q, K+1],
    [1, Q, T, h, w]), the layout MinVIS's decoder returns."""
    return logits[None], masks[:, :, 0].transpose(0, 1)[None]
