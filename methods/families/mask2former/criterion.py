"""Mask2Former-VIS's training objective (VideoSetCriterion, mask2former_video/modeling/
criterion.py, built and applied as VideoMaskFormer.from_config / forward / prepare_targets in
mask2former_video/video_maskformer_model.py; MinVIS uses the same criterion frame by frame).

Every decoder layer (the last under the plain names, deep supervision's earlier layers with
`_{i}`) is matched to the ground truth on its own (matcher.py), then
- loss_ce: cross-entropy over K + 1 classes, unmatched queries labelled "no object" (index K),
  whose weight is NO_OBJECT_WEIGHT (the `empty_weight` buffer, which checkpoints carry), the
  weighted mean over every query of the batch;
- loss_mask, loss_dice: sigmoid BCE and Dice of each matched (instance, frame) mask at
  TRAIN_NUM_POINTS points chosen by PointRend's importance sampling (point_sampling.py), summed
  and divided by the batch's number of ground-truth instances.
Weights come from configs/youtubevis_2019/*.yaml: CLASS_WEIGHT 2, MASK_WEIGHT 5, DICE_WEIGHT 5.

The authors all-reduce the instance count over GPUs (mean, clamped at 1); vis-bench's trainer
passes the batch's count in (`num_masks`), which is that value for one process. Neither the
API nor methods.common has a distributed helper, so nothing here reduces across processes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.api.training import ClipTargets
from vis_bench.methods.common.losses import dice_loss
from vis_bench.methods.families.mask2former.matcher import (
    TRAIN_NUM_POINTS,
    VideoHungarianMatcher,
    VideoTargets,
)
from vis_bench.methods.families.mask2former.point_sampling import (
    mask_uncertainty,
    point_sample,
    uncertain_point_coords_with_randomness,
)

#: the predicted masks' stride on the padded input (SEM_SEG_HEAD.COMMON_STRIDE)
MASK_STRIDE = 4
LOSS_NAMES = ("loss_ce", "loss_mask", "loss_dice")

Indices = list[tuple[torch.Tensor, torch.Tensor]]
LabelToIndex = Callable[[torch.Tensor], torch.Tensor] | Mapping[int, int]


@dataclass(frozen=True)
class Mask2FormerLossConfig:
    """MODEL.MASK_FORMER settings of the criterion (configs/youtubevis_2019, mask2former/
    config.py for what the configs leave at their defaults)."""

    class_weight: float = 2.0  # CLASS_WEIGHT
    mask_weight: float = 5.0  # MASK_WEIGHT
    dice_weight: float = 5.0  # DICE_WEIGHT
    no_object_weight: float = 0.1  # NO_OBJECT_WEIGHT
    num_points: int = TRAIN_NUM_POINTS  # TRAIN_NUM_POINTS (112 * 112)
    oversample_ratio: float = 3.0  # OVERSAMPLE_RATIO
    importance_sample_ratio: float = 0.75  # IMPORTANCE_SAMPLE_RATIO
    deep_supervision: bool = True  # DEEP_SUPERVISION
    dec_layers: int = 10  # DEC_LAYERS: 9 decoder layers + the prediction from the bare queries


def loss_weights(config: Mask2FormerLossConfig) -> dict[str, float]:
    """The authors' weight_dict: the three losses, and with deep supervision the same weights
    for the DEC_LAYERS - 1 earlier predictions' `_{i}` copies."""
    base = {
        "loss_ce": config.class_weight,
        "loss_mask": config.mask_weight,
        "loss_dice": config.dice_weight,
    }
    weights = dict(base)
    if config.deep_supervision:
        for i in range(config.dec_layers - 1):
            weights.update({f"{name}_{i}": value for name, value in base.items()})
    return weights


def sigmoid_ce_loss(inputs: torch.Tensor, targets: torch.Tensor, num_masks: float) -> torch.Tensor:
    """Sigmoid BCE of [M, P] point logits vs targets: mean over points, sum over masks, divided
    by `num_masks` (the authors' sigmoid_ce_loss)."""
    loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    return loss.mean(1).sum() / num_masks


def _matched(indices: Indices, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(video index, query index) of every matched query of the batch."""
    videos = torch.cat([torch.full_like(rows, b) for b, (rows, _) in enumerate(indices)])
    queries = torch.cat([rows for rows, _ in indices])
    return videos.to(device), queries.to(device)


class VideoSetCriterion(nn.Module):
    """Set-prediction losses of Mask2Former-VIS (unweighted; `weighted` applies weight_dict).

    A module only for its `empty_weight` buffer [K + 1] (1 everywhere, `eos_coef` at K), which
    the authors' checkpoints carry as `criterion.empty_weight`.
    """

    def __init__(
        self,
        num_classes: int,
        matcher: VideoHungarianMatcher,
        weight_dict: Mapping[str, float],
        eos_coef: float = 0.1,
        num_points: int = TRAIN_NUM_POINTS,
        oversample_ratio: float = 3.0,
        importance_sample_ratio: float = 0.75,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.matcher = matcher
        self.weight_dict = dict(weight_dict)
        self.eos_coef = eos_coef
        self.num_points = num_points
        self.oversample_ratio = oversample_ratio
        self.importance_sample_ratio = importance_sample_ratio
        empty_weight = torch.ones(num_classes + 1)
        empty_weight[-1] = eos_coef
        self.register_buffer("empty_weight", empty_weight)

    def loss_labels(
        self,
        outputs: Mapping[str, torch.Tensor],
        targets: Sequence[VideoTargets],
        indices: Indices,
        other_weight: float = 0.0,
    ) -> dict[str, torch.Tensor]:
        """Weighted cross-entropy over every query of these videos, in float32.

        The authors' `F.cross_entropy(..., weight=empty_weight)` mean divides by the summed
        weights of the batch's queries; `other_weight` adds those of the batch's queries that
        are not in this call (the trainer passes one clip at a time), so the calls add up.
        """
        logits = outputs["pred_logits"].float()  # [B, Q, K + 1]
        classes = torch.full(
            logits.shape[:2], self.num_classes, dtype=torch.int64, device=logits.device
        )
        videos, queries = _matched(indices, logits.device)
        matched_labels = [t.labels[cols] for t, (_, cols) in zip(targets, indices, strict=True)]
        classes[videos, queries] = torch.cat(matched_labels).to(logits.device)
        weight = self.empty_weight.to(logits.device)
        ce = F.cross_entropy(logits.transpose(1, 2), classes, weight, reduction="sum")
        return {"loss_ce": ce / (weight[classes].sum() + other_weight)}

    def loss_masks(
        self,
        outputs: Mapping[str, torch.Tensor],
        targets: Sequence[VideoTargets],
        indices: Indices,
        num_masks: float,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """BCE and Dice of the matched queries' masks, each (instance, frame) pair at its own
        importance-sampled points (the authors flatten T into the batch of masks)."""
        pred = outputs["pred_masks"]  # [B, Q, T, h, w]
        videos, queries = _matched(indices, pred.device)
        src = pred[videos, queries]  # [n, T, h, w]
        if src.shape[0] == 0:
            zero = src.sum() * 0.0
            return {"loss_mask": zero, "loss_dice": zero.clone()}
        matched = [t.masks[cols] for t, (_, cols) in zip(targets, indices, strict=True)]
        tgt = torch.cat(matched).to(src.device, torch.float32)
        src = src.flatten(0, 1)[:, None].float()  # [n T, 1, h, w]
        tgt = tgt.flatten(0, 1)[:, None]
        with torch.no_grad():
            coords = uncertain_point_coords_with_randomness(
                src,
                mask_uncertainty,
                self.num_points,
                self.oversample_ratio,
                self.importance_sample_ratio,
                generator,
            )
            labels = point_sample(tgt, coords).squeeze(1)
        logits = point_sample(src, coords).squeeze(1)
        return {
            "loss_mask": sigmoid_ce_loss(logits, labels, num_masks),
            "loss_dice": dice_loss(logits, labels, num_masks),
        }

    def _supervised_layers(
        self, outputs: Mapping[str, object]
    ) -> list[tuple[str, Mapping[str, torch.Tensor]]]:
        """(key suffix, predictions) of the last layer and of every earlier layer whose losses
        weight_dict keeps (the authors compute the others too, then drop them)."""
        last = {k: v for k, v in outputs.items() if k != "aux_outputs"}
        layers: list[tuple[str, Mapping[str, torch.Tensor]]] = [("", last)]
        for i, aux in enumerate(outputs.get("aux_outputs", ())):
            if any(f"{name}_{i}" in self.weight_dict for name in LOSS_NAMES):
                layers.append((f"_{i}", aux))
        return layers

    def forward(
        self,
        outputs: Mapping[str, object],
        targets: Sequence[VideoTargets],
        num_masks: float | None = None,
        num_clips: int | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """Unweighted losses of every supervised layer (aux layer i's keys suffixed `_{i}`).

        `num_masks` / `num_clips`: the batch's instance and video counts when these outputs are
        only part of it (default: these videos are the whole batch). num_masks is clamped at 1.
        """
        own_masks = sum(len(t) for t in targets)
        num_masks = max(1.0, float(own_masks if num_masks is None else num_masks))
        other_weight = self._other_class_weight(outputs, targets, num_masks, num_clips)
        losses: dict[str, torch.Tensor] = {}
        for suffix, layer in self._supervised_layers(outputs):
            indices = self.matcher(layer, targets, generator)
            values = {
                **self.loss_labels(layer, targets, indices, other_weight),
                **self.loss_masks(layer, targets, indices, num_masks, generator),
            }
            losses.update({f"{name}{suffix}": value for name, value in values.items()})
        return losses

    def _other_class_weight(
        self,
        outputs: Mapping[str, object],
        targets: Sequence[VideoTargets],
        num_masks: float,
        num_clips: int | None,
    ) -> float:
        """Summed cross-entropy weights of the batch's queries outside this call: the other
        videos' instances each match a query of weight 1, their other queries weigh eos_coef."""
        batch, queries = outputs["pred_logits"].shape[:2]
        other_videos = (num_clips or batch) - batch
        if other_videos <= 0:
            return 0.0
        other_queries = other_videos * queries
        other_masks = min(max(0.0, num_masks - sum(len(t) for t in targets)), other_queries)
        return other_masks + (other_queries - other_masks) * self.eos_coef

    def weighted(self, losses: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each loss times its weight_dict entry; losses without one are dropped (as
        VideoMaskFormer.forward does)."""
        return {k: v * self.weight_dict[k] for k, v in losses.items() if k in self.weight_dict}


def build_video_criterion(
    num_classes: int,
    config: Mask2FormerLossConfig | None = None,
    matcher_type: type[VideoHungarianMatcher] = VideoHungarianMatcher,
    criterion_type: type[VideoSetCriterion] = VideoSetCriterion,
) -> VideoSetCriterion:
    """The criterion VideoMaskFormer.from_config builds: matcher costs = loss weights (a
    member may match or weigh otherwise: `matcher_type`, `criterion_type`)."""
    config = config or Mask2FormerLossConfig()
    matcher = matcher_type(
        cost_class=config.class_weight,
        cost_mask=config.mask_weight,
        cost_dice=config.dice_weight,
        num_points=config.num_points,
    )
    return criterion_type(
        num_classes,
        matcher,
        loss_weights(config),
        eos_coef=config.no_object_weight,
        num_points=config.num_points,
        oversample_ratio=config.oversample_ratio,
        importance_sample_ratio=config.importance_sample_ratio,
    )


def dataset_id_minus_one(labels: torch.Tensor) -> torch.Tensor:
    """Dataset category id -> class index for YouTube-VIS 2019/2021 and OVIS, whose ids run
    1..K: the authors' thing_dataset_id_to_contiguous_id enumerates the sorted ids (IFC's
    training in vis-bench maps them the same way)."""
    return labels - 1


def _class_indices(labels: torch.Tensor, label_to_index: LabelToIndex) -> torch.Tensor:
    """Class indices of dataset category ids, by a function or a {category id: index} map."""
    if isinstance(label_to_index, Mapping):
        return torch.tensor([label_to_index[int(c)] for c in labels.tolist()], dtype=torch.int64)
    return label_to_index(labels).to(torch.int64)


def prepare_video_targets(
    targets: Sequence[ClipTargets],
    padded_size: tuple[int, int],
    num_classes: int,
    label_to_index: LabelToIndex = dataset_id_minus_one,
    absent_last_frame_is_no_object: bool = True,
    device: torch.device | str | None = None,
) -> list[VideoTargets]:
    """The authors' prepare_targets on vis-bench's clip targets.

    Masks are zero-padded at the bottom/right to `padded_size` (the padded input). An instance
    counts as present in a frame where it is annotated and its (resized) mask is not empty, as
    the authors' filter_empty_instances decides; instances present in no frame are dropped.
    The authors take the labels from the clip's last frame, where an absent instance holds
    their loader's dummy annotation of category K ("no object"): with
    `absent_last_frame_is_no_object` such an instance is labelled K, as in their training.
    """
    prepared = []
    ph, pw = padded_size
    for clip in targets:
        h, w = clip.size
        if h > ph or w > pw:
            raise ValueError(f"targets of size {(h, w)} exceed the padded input {padded_size}")
        masks = clip.masks.to(device=device, dtype=torch.float32)
        present = clip.valid.to(masks.device) & (masks.flatten(2) > 0).any(-1)  # [N, T]
        labels = _class_indices(clip.labels, label_to_index).to(masks.device)
        if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"class indices {labels.tolist()} outside 0..{num_classes - 1}")
        if absent_last_frame_is_no_object and present.shape[1]:
            labels = torch.where(present[:, -1], labels, torch.full_like(labels, num_classes))
        keep = present.any(-1)
        padded = F.pad(masks[keep], (0, pw - w, 0, ph - h))
        prepared.append(VideoTargets(labels[keep], padded))
    return prepared


def split_frames(
    outputs: Mapping[str, object], targets: Sequence[VideoTargets]
) -> tuple[dict[str, object], list[VideoTargets]]:
    """MinVIS's frame_decoder_loss_reshape: each frame becomes a one-frame video.

    pred_logits [B, T, Q, C] (per-frame classes) -> [B T, Q, C]; pred_masks [B, Q, T, h, w] ->
    [B T, Q, 1, h, w]; the same for every aux_outputs entry. Every frame's targets keep all of
    the clip's instances and labels, an instance absent from the frame with an empty mask.
    """

    def reshape(layer: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        masks = layer["pred_masks"].transpose(1, 2)  # [B, T, Q, h, w]
        return {
            "pred_logits": layer["pred_logits"].flatten(0, 1),
            "pred_masks": masks.flatten(0, 1)[:, :, None],
        }

    split: dict[str, object] = reshape(outputs)
    if "aux_outputs" in outputs:
        split["aux_outputs"] = [reshape(aux) for aux in outputs["aux_outputs"]]
    frames = [
        VideoTargets(t.labels, t.masks[:, [f]]) for t in targets for f in range(t.masks.shape[1])
    ]
    return split, frames


def mask2former_video_losses(
    outputs: Mapping[str, object],
    targets: Sequence[ClipTargets],
    criterion: VideoSetCriterion,
    label_to_index: LabelToIndex = dataset_id_minus_one,
    *,
    padded_size: tuple[int, int] | None = None,
    num_masks: float | None = None,
    num_clips: int | None = None,
    frame_level: bool = False,
    absent_last_frame_is_no_object: bool = True,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Weighted losses of a batch (or of part of one) in the trainer's form: the last layer's
    under their names, aux layer i's with `_{i}`; their sum is the loss to back-propagate.

    outputs: pred_logits [B, Q, K + 1] ([B, T, Q, K + 1] with `frame_level`), pred_masks
    [B, Q, T, h, w] logits at stride 4 of the padded input, aux_outputs: list of the same.
    targets: one ClipTargets per video, at the unpadded input size. padded_size defaults to
    4 * (h, w). num_masks / num_clips: the whole batch's instance and clip counts when the
    call holds part of it (as `MethodPlugin.training_losses` receives them). `frame_level`:
    MinVIS's per-frame supervision (split_frames), counts scaled by the frames per clip.
    """
    pred_masks = outputs["pred_masks"]
    if padded_size is None:
        padded_size = (pred_masks.shape[-2] * MASK_STRIDE, pred_masks.shape[-1] * MASK_STRIDE)
    videos = prepare_video_targets(
        targets,
        padded_size,
        criterion.num_classes,
        label_to_index,
        absent_last_frame_is_no_object,
        pred_masks.device,
    )
    if frame_level:
        frames = pred_masks.shape[2]
        outputs, videos = split_frames(outputs, videos)
        num_masks = None if num_masks is None else num_masks * frames
        num_clips = None if num_clips is None else num_clips * frames
    losses = criterion(outputs, videos, num_masks, num_clips, generator)
    return criterion.weighted(losses)


def clip_losses(
    outputs: Mapping[str, object],
    targets: ClipTargets,
    criterion: VideoSetCriterion,
    padded: torch.Tensor,
    batch: tuple[float, int],
    **options: Any,
) -> dict[str, torch.Tensor]:
    """`mask2former_video_losses` of one clip whose padded input is `padded` [T, 3, H, W],
    normalised over the trainer's batch (`batch`: its instance and clip counts)."""
    return mask2former_video_losses(
        outputs,
        [targets],
        criterion,
        padded_size=tuple(padded.shape[-2:]),
        num_masks=batch[0],
        num_clips=batch[1],
        **options,
    )
