"""DVIS++'s training, stage by stage: each part is trained with the earlier ones frozen.

- `segmenter` (CTVIS, `CTMinVIS` of the authors): every frame supervised as an image with the
  Mask2Former objective (each instance labelled with its class in every frame, an absent one
  with an empty mask), plus the ReID contrastive terms over the clip's frames.
- `tracker` (`DVIS_Plus_online`): the segmenter frozen (eval, no gradient); the tracker runs
  frame by frame from the clip's first frame, its starts noised in training (noiser.py); every
  layer's per-frame predictions are supervised with one assignment for the whole clip, each
  instance matched on the first frame it appears in (`VideoHungarianMatcher_Consistent`); in
  the first half of training the assignment is made on the segmenter's own predictions put in
  the tracker's order, later on the tracker's; the references get a contrastive term.
- `refiner` (`DVIS_Plus_offline`): segmenter and tracker frozen; the refiner's outputs on the
  whole clip are supervised as one video: a class per track, its masks of all frames stacked
  into one tall image (the authors' `(t h) w`, so the point count is TRAIN_NUM_POINTS x T); the
  assignment is made on the tracker's predictions in the first half of training.

Weights are the authors': class 2, mask 5, Dice 5 on every layer, `loss_reid` 2 and (segmenter
stage only; the others' weight_dict drops it) `loss_aux_reid` 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from scipy.optimize import linear_sum_assignment

from vis_bench.api.training import ClipTargets
from vis_bench.methods.families.dvis.contrastive import (
    contrastive_losses,
    reference_items,
    refiner_items,
    segmenter_items,
)
from vis_bench.methods.families.dvis.inference import clip_predictions, track_clip
from vis_bench.methods.families.dvis.model import DVISModel
from vis_bench.methods.families.dvis.noiser import Noiser
from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.mask2former.criterion import (
    Mask2FormerLossConfig,
    VideoSetCriterion,
    build_video_criterion,
    clip_losses,
    prepare_video_targets,
    split_frames,
)
from vis_bench.methods.families.mask2former.matcher import TRAIN_NUM_POINTS, VideoTargets
from vis_bench.methods.families.mask2former.model import pad_frames

STAGES = ("segmenter", "tracker", "refiner")
#: a query already assigned to an instance that appeared earlier in the clip
USED_QUERY_COST = 1e6


@dataclass(frozen=True)
class StageLossConfig:
    """The weights of the authors' configs (CLASS_WEIGHT, MASK_WEIGHT, DICE_WEIGHT,
    NO_OBJECT_WEIGHT, TRAIN_NUM_POINTS, CL_PLUGIN.REID_WEIGHT / AUX_REID_WEIGHT)."""

    no_object_weight: float = 0.1
    num_points: int = TRAIN_NUM_POINTS
    reid_weight: float = 2.0
    aux_reid_weight: float = 3.0


def stage_criterion(
    num_classes: int, layers: int, num_points: int, config: StageLossConfig
) -> VideoSetCriterion:
    """Mask2Former's criterion for `layers` supervised predictions at `num_points` points."""
    loss = Mask2FormerLossConfig(
        no_object_weight=config.no_object_weight, num_points=num_points, dec_layers=layers
    )
    return build_video_criterion(num_classes, loss)


def _video_targets(targets: ClipTargets, padded: tuple[int, int], classes: int) -> VideoTargets:
    """The authors' DVIS targets: every instance of the clip with its class in every frame
    (`max` over the frames' classes, absent frames being -1), masks zero where it is absent."""
    return prepare_video_targets([targets], padded, classes, absent_last_frame_is_no_object=False)[
        0
    ]


def segmenter_losses(
    model: DVISModel,
    criterion: VideoSetCriterion,
    config: StageLossConfig,
    frames: torch.Tensor,
    targets: ClipTargets,
    batch: tuple[float, int],
) -> dict[str, torch.Tensor]:
    """The CTVIS stage on one clip [T, 3, H, W]; `batch` = (instances, clips) of the batch."""
    padded = pad_frames(frames)
    out = model.decode(model.per_frame(padded), keep_aux=True)

    def clip(logits: torch.Tensor, masks: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"pred_logits": logits[None], "pred_masks": masks[:, :, 0].transpose(0, 1)[None]}

    outputs: dict = {**clip(out.logits, out.masks), "aux_outputs": [clip(*a) for a in out.aux]}
    options = {"frame_level": True, "absent_last_frame_is_no_object": False}
    losses = clip_losses(outputs, targets, criterion, padded, batch, **options)
    size = tuple(padded.shape[-2:])
    video = _video_targets(targets, size, criterion.num_classes)
    last = {k: v for k, v in outputs.items() if k != "aux_outputs"}
    split, frame_targets = split_frames(last, [video])
    present = video.masks.flatten(2).any(-1)  # [N, T]
    queries = torch.full(present.t().shape, -1, dtype=torch.long)
    for f, (rows, cols) in enumerate(criterion.matcher(split, frame_targets)):
        seen = present[cols, f].cpu()
        queries[f, cols[seen]] = rows[seen]
    reid = model.sem_seg_head.predictor.reid_embed(out.embeddings)  # [T, Q, C]
    reid_loss, aux_loss = contrastive_losses(segmenter_items(reid, queries), reid)
    losses["loss_reid"] = config.reid_weight * reid_loss / batch[1]
    losses["loss_aux_reid"] = config.aux_reid_weight * aux_loss / batch[1]
    return losses


def consistent_indices(
    criterion: VideoSetCriterion, logits: torch.Tensor, masks: torch.Tensor, video: VideoTargets
) -> tuple[torch.Tensor, torch.Tensor]:
    """One assignment for the clip: each instance matched on the first frame it appears in,
    instances of later frames to queries not taken yet. logits [T, Q, K+1], masks [T, Q, h, w]."""
    present = video.masks.flatten(2).any(-1)  # [N, T]
    first = present.float().argmax(1).tolist()
    rows: list[int] = []
    cols: list[int] = []
    for f in sorted(set(first)):
        ids = [n for n, g in enumerate(first) if g == f]
        target = VideoTargets(video.labels[ids], video.masks[ids][:, [f]])
        cost = criterion.matcher.cost_matrix(logits[f], masks[f][:, None], target).cpu()
        cost[rows] = USED_QUERY_COST
        r, c = linear_sum_assignment(cost.numpy())
        rows += r.tolist()
        cols += [ids[j] for j in c]
    return torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long)


def _frame_layer_losses(
    criterion: VideoSetCriterion,
    logits: torch.Tensor,
    masks: torch.Tensor,
    video: VideoTargets,
    indices: tuple[torch.Tensor, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """One layer's per-frame losses (every frame an image, one assignment for all frames)."""
    frames = logits.shape[0]
    outputs = {"pred_logits": logits, "pred_masks": masks[:, :, None]}
    targets = [VideoTargets(video.labels, video.masks[:, [f]]) for f in range(frames)]
    num_masks = max(1.0, float(frames * len(video)))
    return {
        **criterion.loss_labels(outputs, targets, [indices] * frames),
        **criterion.loss_masks(outputs, targets, [indices] * frames, num_masks),
    }


def _tracked_clip(model: DVISModel, queries, noiser: Noiser | None):
    """The tracker from the clip's first frame, every layer kept: outputs [T, L, Q, 2C],
    references [T, Q, 2C], indices [T, Q]."""
    outputs, references, indices, state = [], [], [], None
    for t in range(len(queries)):
        frame, state = model.tracker.step(
            queries.embeds[t][:, None], queries.embeds_no_norm[t][:, None], state, noiser
        )
        outputs.append(frame.outputs[:, :, 0])
        references.append(frame.reference[:, 0])
        indices.append(frame.indices)
    return torch.stack(outputs), torch.stack(references), torch.stack(indices)


def frozen_queries(model: Any, frames: torch.Tensor) -> tuple[torch.Tensor, FrameQueries]:
    """A clip [T, 3, H, W] padded, and the frozen segmenter's queries of it (no gradient):
    where the tracker and refiner stages of both DVIS families start."""
    padded = pad_frames(frames)
    with torch.no_grad():
        return padded, model.segment(model.per_frame(padded))


def tracker_losses(
    model: DVISModel,
    criterion: VideoSetCriterion,
    config: StageLossConfig,
    frames: torch.Tensor,
    targets: ClipTargets,
    noiser: Noiser,
    guided: bool,
) -> dict[str, torch.Tensor]:
    """The tracker stage on one clip (see the module docstring)."""
    padded, queries = frozen_queries(model, frames)
    outputs, references, order = _tracked_clip(model, queries, noiser)
    logits, masks = model.tracker.predict(outputs, references, queries.mask_features)
    video = _video_targets(targets, tuple(padded.shape[-2:]), criterion.num_classes)
    frame = torch.arange(order.shape[0])[:, None]
    guide = None
    if guided:
        guide = consistent_indices(
            criterion, queries.logits[frame, order], queries.masks[frame, order], video
        )
    layers = logits.shape[0]
    losses: dict[str, torch.Tensor] = {}
    indices = guide
    for layer in [layers - 1, *range(layers - 1)]:
        if guide is None:
            indices = consistent_indices(criterion, logits[layer], masks[layer], video)
        suffix = "" if layer == layers - 1 else f"_{layer}"
        values = _frame_layer_losses(criterion, logits[layer], masks[layer], video, indices)
        losses.update({f"{name}{suffix}": value for name, value in values.items()})
    losses = criterion.weighted(losses)
    items = reference_items(references, indices[0].tolist())
    losses["loss_reid"] = config.reid_weight * contrastive_losses(items, references)[0]
    return losses


def _stacked(masks: torch.Tensor) -> torch.Tensor:
    """Masks [..., T, N, h, w] -> [..., N, 1, T h, w]: the clip's frames one above the other."""
    moved = masks.transpose(-4, -3)  # [..., N, T, h, w]
    *lead, n, t, h, w = moved.shape
    return moved.reshape(*lead, n, 1, t * h, w)


def refiner_losses(
    model: DVISModel,
    config: StageLossConfig,
    frames: torch.Tensor,
    targets: ClipTargets,
    guided: bool,
    with_contrastive: bool,
) -> dict[str, torch.Tensor]:
    """The refiner stage on one clip (see the module docstring)."""
    padded, queries = frozen_queries(model, frames)
    with torch.no_grad():
        tracked, _ = track_clip(model.tracker, queries, None)
        guide_logits, guide_masks = clip_predictions(model.tracker, tracked, queries.mask_features)
    refiner = model.refiner
    normed = refiner.decoder_norm(refiner(tracked.outputs, queries.embeds_no_norm))
    logits = refiner.class_logits(normed)  # [L, Q, K+1]
    masks = refiner.mask_logits(normed, queries.mask_features)  # [L, T, Q, h, w]
    num_classes = refiner.class_embed.out_features - 1
    video = _video_targets(targets, tuple(padded.shape[-2:]), num_classes)
    guide = (guide_logits.mean(0), guide_masks) if guided else None
    losses, indices = refined_video_losses(config, logits, masks, video, guide)
    if with_contrastive:
        items = refiner_items(normed[-1], indices[0].tolist())
        losses["loss_reid"] = config.reid_weight * contrastive_losses(items, normed)[0]
    return losses


def refined_video_losses(
    config: StageLossConfig,
    logits: torch.Tensor,
    masks: torch.Tensor,
    video: VideoTargets,
    guide: tuple[torch.Tensor, torch.Tensor] | None,
) -> tuple[dict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """A refiner's outputs supervised as one video (the DVIS family's refiners alike): logits
    [L, Q, K+1] and mask logits [L, T, Q, h, w] of every layer, the masks of all frames stacked
    into one tall image and TRAIN_NUM_POINTS x T points; one assignment per layer, or the one
    made on `guide` (the earlier stage's logits [Q, K+1] and masks [T, Q, h, w]) for all.
    Returns the weighted losses and the assignment the loop ended with (the last layer's when
    guided, the one before it otherwise, as the authors' criterion hands it on)."""
    count = masks.shape[1]
    criterion = stage_criterion(
        logits.shape[-1] - 1, logits.shape[0], config.num_points * count, config
    )
    stacked = _stacked(masks)  # [L, Q, 1, T h, w]
    target = VideoTargets(video.labels, _stacked(video.masks.transpose(0, 1)))
    indices = None
    if guide is not None:
        indices = criterion.matcher.match_video(guide[0], _stacked(guide[1]), target)
    losses: dict[str, torch.Tensor] = {}
    layers = logits.shape[0]
    for layer in [layers - 1, *range(layers - 1)]:
        layer_out = {"pred_logits": logits[layer][None], "pred_masks": stacked[layer][None]}
        if guide is None:
            indices = criterion.matcher.match_video(logits[layer], stacked[layer], target)
        assert indices is not None
        values = {
            **criterion.loss_labels(layer_out, [target], [indices]),
            **criterion.loss_masks(layer_out, [target], [indices], max(1.0, float(len(target)))),
        }
        suffix = "" if layer == layers - 1 else f"_{layer}"
        losses.update({f"{name}{suffix}": value for name, value in values.items()})
    assert indices is not None
    return criterion.weighted(losses), indices
