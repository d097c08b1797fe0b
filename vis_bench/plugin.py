"""The clip-inference interface every method implements (see ARCHITECTURE.md).

The harness talks to a method only through this class: it builds the model from the method's
own config, loads a checkpoint, preprocesses frames the method's way, and calls `infer_clip`
on clips it forms itself. Everything around the call (clip schedule, stitching, resizing, RLE,
metric, timing) is the harness's, identical for every method.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class ClipResult:
    """Instances found in one clip.

    scores: [N] confidence in [0, 1]; labels: [N] dataset category ids;
    masks: [N, T, h, w] per-frame mask probabilities at the clip's working resolution
    (the valid, unpadded region of the preprocessed frames), used for soft-IoU matching;
    mask_logits: optional [N, T, h, w] logits; when given, overlapping clips are averaged in
    logit space and the final mask is `logit > 0` (what IFC and SeqFormer do), otherwise
    probabilities are averaged and thresholded at 0.5;
    class_probs: optional [N, K] per-instance class distribution, averaged over a track's clips
    and handed to `MethodPlugin.track_predictions` (IFC's multi-class expansion uses it);
    extra: anything else the method wants to keep (e.g. query embeddings).
    """

    scores: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    mask_logits: torch.Tensor | None = None
    class_probs: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.scores.shape[0])


@dataclass(frozen=True)
class TrainingRecipe:
    """A method's published optimisation recipe; `train` uses it unless a config overrides it.

    lr_drops: fractions of the schedule where the learning rate is multiplied by `lr_drop_factor`
    (the authors' step schedules: SeqFormer drops at epochs 4 and 10 of 12, IFC at 4k of 6k).
    clip_max_norm: gradient clipping on the total L2 norm of every trainable parameter.
    backbone_lr_mult: the backbone's learning rate relative to `lr` (pretrained backbones).
    frame_sampling: how training clips pick their frames ("seqformer": a reference frame, one
    near frame on each side and the rest anywhere in the video; "ifc": frames drawn with
    replacement from a window of +-`sampling_range` around a reference frame).
    """

    lr: float
    weight_decay: float
    clip_max_norm: float
    lr_drops: tuple[float, ...]
    lr_drop_factor: float = 0.1
    backbone_lr_mult: float = 0.1
    warmup_iters: int = 0
    frame_sampling: str = "seqformer"
    sampling_range: int = 20


class MethodPlugin(ABC):
    """One registered VIS method. Subclasses declare everything a user needs in one place.

    Subclasses keep their `torch.nn.Module` in `self.model` (in eval mode); `flops_modules()`
    names sub-modules of it (dotted paths) for the per-module FLOPs breakdown.
    """

    #: registry name, e.g. "seqformer"
    name: str = ""
    #: short human-readable notes carried into every table and record row (e.g. reconstructions)
    notes: str = ""
    #: stitch clips only within a category (methods that emit one instance per (query, class));
    #: False matches regardless of category, as IFC does
    stitch_class_aware: bool = True
    #: a track whose mask is empty in every frame at the video size yields no prediction
    #: (SeqFormer's inference.py drops such queries; IFC keeps them)
    drop_empty_tracks: bool = False

    @classmethod
    @abstractmethod
    def build(cls, cfg: dict[str, Any] | None = None) -> MethodPlugin:
        """Build the method from its own config (missing keys take the published defaults)."""

    @abstractmethod
    def load_checkpoint(self, path: str) -> None:
        """Load the authors' released format or the project's own; report key mismatches clearly."""

    @abstractmethod
    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        """uint8 RGB frames [T, 3, H, W] -> the method's normalised, resized input [T, 3, h, w].

        `shorter_side` overrides the method's own test resolution (the sweep's resolution axis);
        None keeps the published one.
        """

    @abstractmethod
    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        """Preprocessed frames of one clip -> instances, with the method's own post-processing."""

    def to(self, device: str | torch.device) -> MethodPlugin:
        """Move the model to `device` (the harness moves clips itself)."""
        module = getattr(self, "model", None)
        if isinstance(module, torch.nn.Module):
            module.to(device)
        return self

    def track_predictions(self, track: Any) -> list[tuple]:
        """(category id, score) or (category id, score, with_masks) predictions of one track.

        Default: the track's own label and mean clip score. A method overrides this to expand a
        track into several predictions (IFC: every class whose averaged probability > 0.01) or to
        write `None` segmentations for a prediction (with_masks False; SeqFormer below 0.001).
        """
        return default_track_predictions(track)

    def masks_to_video(
        self, masks: torch.Tensor, height: int, width: int, threshold: float
    ) -> np.ndarray:
        """Working-resolution masks [n, h, w] (mean logits or probabilities) -> uint8 [n, H, W].

        Default: one bilinear resize (align_corners=False) to the video size, then threshold.
        """
        return default_masks_to_video(masks, height, width, threshold)

    def flops_modules(self) -> list[str]:
        """Names of sub-modules FLOPs are broken down by (backbone, encoder, decoder, heads)."""
        return []

    # -- training (optional: `train` refuses methods that do not implement it) -----------------

    def backbone_module(self) -> torch.nn.Module:
        """The image backbone (what a pretrained initialisation such as ImageNet weights fills)."""
        raise NotImplementedError(f"method {self.name!r} does not expose its backbone")

    def training_recipe(self) -> TrainingRecipe:
        """The authors' optimiser, schedule shape, clipping and frame sampling."""
        raise NotImplementedError(f"method {self.name!r} does not support training")

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups with the authors' per-module learning rates.

        Default: one group of every trainable parameter at `lr`.
        """
        module = getattr(self, "model", None)
        params = [p for p in module.parameters() if p.requires_grad] if module else []
        return [{"params": params, "lr": lr}]

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        """Weighted losses of one preprocessed training clip [T, 3, H, W] of a batch.

        `targets` is a `vis_bench.train.clips.ClipTargets` at the size of `frames`. The batch
        has `num_clips` clips and `num_instances` ground-truth instances; losses are normalised
        over the whole batch (the authors divide by the batch's instance count), so the
        trainer's sum over the clips' values is the batch loss.
        """
        raise NotImplementedError(f"method {self.name!r} does not support training")


def default_track_predictions(track: Any) -> list[tuple]:
    """One prediction per track: its label and mean clip score."""
    return [(int(track.label), float(track.score))]


def default_masks_to_video(
    masks: torch.Tensor, height: int, width: int, threshold: float
) -> np.ndarray:
    """One bilinear resize (align_corners=False) to the video size, then `> threshold`."""
    resized = torch.nn.functional.interpolate(
        masks.float()[:, None], size=(height, width), mode="bilinear", align_corners=False
    )
    return (resized[:, 0] > threshold).to(torch.uint8).numpy()
