"""The DVIS++ network: Mask2Former's segmenter with the ReID branch, the referring tracker and,
for the offline model, the temporal refiner.

Module tree and key order as the authors' `DVIS_Plus_online` / `DVIS_Plus_offline`:
`backbone.*`, `sem_seg_head.{pixel_decoder,predictor}.*` (the predictor with `reid_embed`),
`criterion.empty_weight`, `tracker.*`, `refiner.*`; a release checkpoint's `"model"` dict loads
strictly, and the CTVIS stage-1 segmenter (backbone, sem_seg_head, criterion) is its prefix.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from vis_bench.methods.families.dvis.backbones import SEGMENTER_BACKBONES
from vis_bench.methods.families.dvis.config import DVISConfig
from vis_bench.methods.families.dvis.refiner import TemporalRefiner
from vis_bench.methods.families.dvis.segmenter import FrameQueries, ReIDDecoder, frame_queries
from vis_bench.methods.families.dvis.tracker import ReferringTracker
from vis_bench.methods.families.mask2former.model import Mask2FormerConfig, Mask2FormerModel
from vis_bench.methods.families.mask2former.pixel_decoder import PixelDecoderFeatures


class ReIDSegmenterModel(Mask2FormerModel):
    """The DVIS families' segmenter (DVIS++'s and DVIS-DAQ's): Mask2Former per frame on the
    family's backbones, with the ReID branch on its queries."""

    def build_backbone(self, name: str) -> nn.Module:
        return SEGMENTER_BACKBONES[name].build()

    def build_predictor(self, cfg: Mask2FormerConfig, temporal: bool) -> nn.Module:
        assert isinstance(cfg, DVISConfig) and not temporal
        return ReIDDecoder(cfg, cfg.reid_hidden_dim, cfg.reid_layers)


class DVISModel(ReIDSegmenterModel):
    """Frames -> per-frame segmenter queries (`segment`); the tracker and refiner are run by
    inference.py and refinement.py."""

    cfg: DVISConfig

    def __init__(self, cfg: DVISConfig, refiner_layers: int | None = None) -> None:
        """`refiner_layers` (MODEL.REFINER.DECODER_LAYERS) builds the offline model's refiner."""
        super().__init__(cfg, temporal=False)
        width = cfg.track_dim
        self.tracker = ReferringTracker(
            width, cfg.dim_feedforward, cfg.nheads, cfg.tracker_layers, cfg.hidden_dim,
            cfg.num_classes,
        )  # fmt: skip
        if refiner_layers is not None:
            self.refiner = TemporalRefiner(
                width, cfg.dim_feedforward, cfg.nheads, refiner_layers, cfg.hidden_dim,
                cfg.num_classes,
            )  # fmt: skip

    @property
    def has_refiner(self) -> bool:
        return "refiner" in self._modules

    def segment(self, features: PixelDecoderFeatures) -> FrameQueries:
        """A clip's per-frame pixel-decoder outputs (batch = frames) -> `FrameQueries`: every
        frame decoded alone, the clip's frames in one batch as the authors' windows are."""
        out = self.decode(features)
        return frame_queries(self.sem_seg_head.predictor, out, features.mask_features)

    def segment_backbone_features(self, features: dict[str, torch.Tensor]) -> FrameQueries:
        """Backbone maps res2..res5 [T, C, h, w] -> `FrameQueries` (parity fixtures)."""
        return self.segment(self.sem_seg_head.pixel_decoder(features))


def build_model(cfg: DVISConfig | dict[str, Any], refiner_layers: int | None = None) -> DVISModel:
    """The network for `cfg` (with a refiner of `refiner_layers` layers), in eval mode."""
    if not isinstance(cfg, DVISConfig):
        cfg = DVISConfig(**cfg)
    return DVISModel(cfg, refiner_layers).eval()
