"""The DVIS-DAQ network: the DVIS family's segmenter (Mask2Former per frame with the ReID
branch), the dynamic-anchor tracker and, offline, the temporal refiner.

Module tree and key order as the authors' `DVIS_DAQ_online`: `backbone.*`,
`sem_seg_head.{pixel_decoder,predictor}.*` (the predictor with `reid_embed`, built and loaded
but not run: DAQ's tracker reads only the C-channel normed queries), `tracker.*`,
`daq_criterion.empty_weight` (no `criterion.*`), then `refiner.*` (offline: the DVIS family's
`TemporalRefiner` in C channels, its temporal convolution only with USE_LOCAL_ATTN); a release
checkpoint's `"model"` dict loads strictly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.methods.common.losses import NoObjectWeight
from vis_bench.methods.families.dvis.config import DVISConfig
from vis_bench.methods.families.dvis.model import ReIDSegmenterModel
from vis_bench.methods.families.dvis.refiner import TemporalRefiner
from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.dvis_daq.tracker import AnchorTracker
from vis_bench.methods.families.mask2former.pixel_decoder import PixelDecoderFeatures


@dataclass
class DAQConfig(DVISConfig):
    """`DVISConfig` plus the tracker's background slots (MODEL.VIDEO_HEAD.NUM_SLOTS). The
    anchors per frame (NUM_NEW_INS) equal the segmenter's queries: anchor k sits at query k's
    mask."""

    num_slots: int = 5

    @property
    def track_dim(self) -> int:
        """The tracker works in the segmenter's C channels (DVIS++'s in 2C)."""
        return self.hidden_dim


class DAQModel(ReIDSegmenterModel):
    """Frames -> per-frame segmenter queries (`segment`); the tracker is run frame by frame by
    decisions.py."""

    cfg: DAQConfig

    def __init__(
        self, cfg: DAQConfig, refiner_layers: int | None = None, local_attention: bool = False
    ) -> None:
        """`refiner_layers` (MODEL.REFINER.DECODER_LAYERS) builds the offline model's refiner,
        with the temporal convolution where `local_attention` (USE_LOCAL_ATTN)."""
        super().__init__(cfg, temporal=False)
        del self.criterion  # DAQ's checkpoints name it daq_criterion, after the tracker
        self.tracker = AnchorTracker(
            cfg.hidden_dim, cfg.dim_feedforward, cfg.nheads, cfg.tracker_layers, cfg.mask_dim,
            cfg.num_classes, cfg.num_slots,
        )  # fmt: skip
        self.daq_criterion = NoObjectWeight(cfg.num_classes, cfg.no_object_weight)
        if refiner_layers is not None:
            self.refiner = TemporalRefiner(
                cfg.hidden_dim, cfg.dim_feedforward, cfg.nheads, refiner_layers, cfg.hidden_dim,
                cfg.num_classes, local_attention,
            )  # fmt: skip

    def segment(self, features: PixelDecoderFeatures) -> FrameQueries:
        """A clip's per-frame pixel-decoder outputs (batch = frames) -> `FrameQueries` with C
        channels: `embeds` the normed queries (what the tracker reads), `embeds_no_norm` the
        raw ones."""
        out = self.decode(features)
        assert out.queries is not None
        return FrameQueries(
            logits=out.logits,
            masks=out.masks[:, :, 0],
            embeds=out.embeddings,
            embeds_no_norm=out.queries,
            mask_features=features.mask_features,
        )

    def segment_backbone_features(self, features: dict[str, torch.Tensor]) -> FrameQueries:
        """Backbone maps res2..res5 [T, C, h, w] -> `FrameQueries` (parity fixtures)."""
        return self.segment(self.sem_seg_head.pixel_decoder(features))

    @property
    def query_feat(self) -> torch.Tensor:
        """The segmenter's learned queries [Q, C] (the slots start from their rows)."""
        return self.sem_seg_head.predictor.query_feat.weight


def build_model(
    cfg: DAQConfig | dict[str, Any],
    refiner_layers: int | None = None,
    local_attention: bool = False,
) -> DAQModel:
    """The network for `cfg` (with a refiner of `refiner_layers` layers), in eval mode."""
    if not isinstance(cfg, DAQConfig):
        cfg = DAQConfig(**cfg)
    return DAQModel(cfg, refiner_layers, local_attention).eval()
