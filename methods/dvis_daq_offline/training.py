"""DVIS-DAQ offline's refiner training (`DVIS_DAQ_offline.forward` of the authors).

The segmenter and the tracker are frozen and run as at inference over the whole clip (the
tracker's decisions with the test thresholds: `forward_offline_mode`), the refiner's N
instances gathered as at inference (instances.py: the top tracked sequences, then the naive
link); the refiner's outputs are then supervised as one video with the DVIS family's criterion
(`refined_video_losses`: class 2, mask 5, Dice 5 on every layer, the frames' masks stacked). In
the first half of the steps the assignment is made on the online predictions of the same N
instances: a sequence's time-mean logits and its tracker masks (background where it does not
exist), a linked query's mean logits and segmenter masks. DAQ's refiner has no contrastive term.
"""

from __future__ import annotations

import torch

from vis_bench.api.training import ClipTargets
from vis_bench.methods.dvis_daq_offline.instances import GatheredVideo, RefinerInputs
from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.dvis.training import StageLossConfig, refined_video_losses
from vis_bench.methods.families.dvis_daq.model import DAQModel
from vis_bench.methods.families.dvis_daq.video import sequence_masks
from vis_bench.methods.families.mask2former.criterion import prepare_video_targets
from vis_bench.methods.families.mask2former.model import pad_frames


def online_predictions(
    model: DAQModel, inputs: RefinerInputs, queries: FrameQueries
) -> tuple[torch.Tensor, torch.Tensor]:
    """The online model's logits [N, K+1] and mask logits [T, N, h, w] of the refiner's
    instances (`common_inference`'s `online_out`)."""
    frames = len(queries)
    projected = model.tracker.project(queries.mask_features)
    masks = []
    for sequence, query in zip(inputs.sequences, inputs.linked, strict=True):
        if sequence is not None:
            masks.append(
                sequence_masks(model.tracker, [sequence], list(range(frames)), projected)[0]
            )
        else:
            assert inputs.naive is not None
            order = inputs.naive.order[:, query]
            masks.append(queries.masks[torch.arange(frames), order])
    return inputs.online_logits, torch.stack(masks, dim=1)


def refiner_losses(
    model: DAQModel,
    config: StageLossConfig,
    frames: torch.Tensor,
    targets: ClipTargets,
    gather,
    guided: bool,
) -> dict[str, torch.Tensor]:
    """The refiner stage on one clip [T, 3, H, W]; `gather(queries)` runs the frozen tracker
    over the clip's `FrameQueries` and returns its `GatheredVideo` and `RefinerInputs`."""
    padded = pad_frames(frames)
    with torch.no_grad():
        queries = model.segment(model.per_frame(padded))
        video, inputs = gather(queries)
        guide = online_predictions(model, inputs, queries) if guided else None
    refiner = model.refiner
    assert isinstance(video, GatheredVideo)
    output = refiner(inputs.instance_embeds, video.frame_embeds())  # [L, T, N, C]
    normed = refiner.decoder_norm(output)
    logits = refiner.class_logits(normed)  # [L, N, K+1]
    masks = refiner.mask_logits(normed, queries.mask_features)  # [L, T, N, h, w]
    num_classes = logits.shape[-1] - 1
    size = (int(padded.shape[-2]), int(padded.shape[-1]))
    target = prepare_video_targets(
        [targets], size, num_classes, absent_last_frame_is_no_object=False
    )[0]
    losses, _ = refined_video_losses(config, logits, masks, target, guide)
    return losses
