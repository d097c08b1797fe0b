"""DVIS++'s network shape, named after the authors' config keys (R50 YouTube-VIS defaults).

The segmenter is Mask2Former's (`Mask2FormerConfig`: DEC_LAYERS minus one decoder layers, and
so on) plus the ReID branch; the tracker and the refiner work in 2C channels (the segmenter's
embedding and its ReID embedding side by side), with the segmenter's heads and FFN width
(NHEADS, DIM_FEEDFORWARD) as the authors' `from_config` passes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from vis_bench.api import InputError
from vis_bench.methods.families.dvis.backbones import SEGMENTER_BACKBONES
from vis_bench.methods.families.mask2former.model import Mask2FormerConfig


@dataclass
class DVISConfig(Mask2FormerConfig):
    """`Mask2FormerConfig` plus the ReID branch and the tracker (the refiner's depth is the
    offline model's own option: `DVISModel(cfg, refiner_layers)`)."""

    #: MODEL.MASK_FORMER.REID_HIDDEN_DIM / NUM_REID_HEAD_LAYERS (0: no ReID MLP, an identity)
    reid_hidden_dim: int = 256
    reid_layers: int = 3
    #: MODEL.TRACKER.DECODER_LAYERS
    tracker_layers: int = 6

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mask_dim != self.hidden_dim:
            raise InputError(
                f"mask_dim ({self.mask_dim}) must equal hidden_dim ({self.hidden_dim}): the "
                "authors size the tracker's mask projection and mask heads by HIDDEN_DIM while "
                "the mask features have MASK_DIM channels",
                field="mask_dim",
            )

    @property
    def track_dim(self) -> int:
        """The tracker's and refiner's width: 2C (REID_BRANCH True in every released config)."""
        return 2 * self.hidden_dim

    def backbone_names(self) -> tuple[str, ...]:
        return tuple(SEGMENTER_BACKBONES.names())

    def backbone_channels(self) -> dict[str, int]:
        if self.backbone is None:
            return dict(SEGMENTER_BACKBONES["resnet50"].channels)
        return dict(SEGMENTER_BACKBONES[self.backbone].channels)
