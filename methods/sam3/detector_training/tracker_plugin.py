"""SAM 3's tracker as a trainable plugin: the tracker and its neck (`sam2_convs`) trained on
clips of the synthetic data with SAM 2's video loss (`tracker_rollout.py`) on a frozen, already
pretrained ViT trunk (`backbone_init`, the trunk the tiny detector keeps too). Not registered:
`configs/tiny/sam3_tracker.yaml` names it by import path. Its output holds the `tracker.*` and
`sam2_convs` entries of SAM 3's layout, which `tools/sam3_video_checkpoint.py` joins to the detector's.
Its inference is the detector's, per frame (the inherited plugin's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vis_bench.api import MethodSpec, Preprocessing
from vis_bench.api.checkpoints import (
    CheckpointContents,
    LoadReport,
    checkpoint_contents,
    compare_and_load,
)
from vis_bench.api.training import ClipTargets, TrainingRecipe
from vis_bench.methods.common.stage_start import check_stage_start
from vis_bench.methods.sam3.detector_training.detector_plugin import (
    PIXEL_MEAN,
    PIXEL_STD,
    Sam3DetectorTraining,
)
from vis_bench.methods.sam3.detector_training.options import Sam3DetectorOptions
from vis_bench.methods.sam3.detector_training.tracker_rollout import tracker_losses
from vis_bench.methods.sam3.neck import sine_positions
from vis_bench.methods.sam3.options import tracker_sizes_of
from vis_bench.methods.sam3.tracker import TrackerSizes
from vis_bench.methods.sam3.video_model import Sam3VideoModel

#: the trained parts' keys (the rest of the file's model is the detector's, not trained here)
TRAINED = ("tracker.", "detector.backbone.vision_backbone.sam2_convs.")
#: CLIP's pooled projection, which SAM 3 never reads: a joined `sam3` file holds one shaped by
#: the video model's own width, so a tracker's start leaves it as initialised
POOLED_PROJECTION = "detector.backbone.language_backbone.encoder.text_projection"


def consecutive_frames(
    rng: np.random.Generator, length: int, num_frames: int, reference: int
) -> list[int]:
    """`num_frames` consecutive frames from the reference (earlier when the video ends first;
    the last repeated when it is shorter), as SAM 2 samples its training clips."""
    start = max(0, min(reference, length - num_frames))
    return [min(start + i, length - 1) for i in range(num_frames)]


#: SAM 2's released video training: AdamW, weight decay 0.1, gradients clipped at 0.1
TRACKER_RECIPE = TrainingRecipe(
    lr=5e-4,
    weight_decay=0.1,
    clip_max_norm=0.1,
    lr_drops=(0.8,),
    frame_sampler=consecutive_frames,
    backbone_lr_mult=1.0,
)


@dataclass
class Sam3TrackerOptions(Sam3DetectorOptions):
    """The detector's sizes (its trunk is read) and the tracker's (released in brackets)."""

    mem_dim: int = 16  # (64)
    tracker_layers: int = 1  # (4)
    tracker_ffn: int = 128  # (2048)
    num_maskmem: int = 7  # (7)

    def tracker_sizes(self) -> TrackerSizes:
        return tracker_sizes_of(self)


class Sam3TrackerTraining(Sam3DetectorTraining):
    """SAM 3's tracker on a frozen trunk, with its own neck."""

    spec = MethodSpec(
        name="sam3-tracker",
        summary="SAM 3's tracker trained on a frozen trunk (inference: the detector per frame)",
        options=Sam3TrackerOptions,
        preprocessing=Preprocessing(shorter_side=144, mean=PIXEL_MEAN, std=PIXEL_STD),
        reference="facebookresearch/sam3 (sam3/model/sam3_tracker_base.py); SAM 2's loss",
        notes="trains tracker.* and the tracker's neck only",
        checkpoint_signature=(r"^tracker\.sam_mask_decoder\.",),
        training=TRACKER_RECIPE,
    )

    @classmethod
    def create(cls, options: Sam3TrackerOptions) -> Sam3TrackerTraining:
        model = Sam3VideoModel(options.sizes(), options.tracker_sizes())
        return cls(model, options)

    def training_losses(
        self, frames: torch.Tensor, targets: ClipTargets, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        """The clip's objects born on its first frame and tracked through the rest."""
        backbone = self.model.detector.backbone.vision_backbone
        with torch.no_grad():
            trunk = backbone.trunk(frames)
        levels = [conv(trunk) for conv in backbone.sam2_convs][:-1]
        positions = [
            sine_positions(backbone.d_model, f.shape[-2], f.shape[-1]).to(f)[None] for f in levels
        ]
        tracker = self.model.tracker
        features = [
            tracker.frame_features([lv[t : t + 1] for lv in levels], positions)
            for t in range(frames.shape[0])
        ]
        side = self.options.image
        masks = F.interpolate(targets.masks, size=(side, side), mode="nearest")
        losses = tracker_losses(tracker, features, masks, targets.valid)
        return {name: value / num_clips for name, value in losses.items()}

    def start_training_from(self, checkpoint: str | CheckpointContents) -> LoadReport:
        """The tracker trains for a trained detector (`init_checkpoint`: the tiny detector's
        training output, whose trunk it reads): every `detector.*` tensor by name; only the
        tracker and its neck, which it trains from scratch, may be missing. A run that
        continues a tracker starts from the joined `sam3` file of the detector and that
        tracker (`python -m tools.sam3_video_checkpoint`)."""
        contents = checkpoint_contents(checkpoint)
        report = LoadReport(contents.path, contents.format, strict=False)
        weights = {k: v for k, v in contents.state_dict.items() if k != POOLED_PROJECTION}
        compare_and_load(self.model, weights, report)
        check_stage_start(report, (*TRAINED, POOLED_PROJECTION), "tracker", contents.path)
        self.load_report = report
        return report

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """The tracker and its neck at `lr` (biases and norms without weight decay); the
        detector, trunk included, frozen."""
        self.model.requires_grad_(False)
        decay, plain = [], []
        for name, param in self.model.named_parameters():
            if name.startswith(TRAINED):
                param.requires_grad_(True)
                flat = name.endswith("bias") or param.dim() == 1
                (plain if flat else decay).append(param)
        return [
            {"params": decay, "lr": lr, "name": "tracker"},
            {"params": plain, "lr": lr, "name": "tracker", "weight_decay": 0.0},
        ]

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.model.state_dict().items() if k.startswith(TRAINED)}
