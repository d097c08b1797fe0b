"""SAM 3's ViT trunk seen as an image backbone: what `run_bench.py pretrain` trains and a
training config's `backbone_init` fills.

The pretraining heads read a dict of feature maps; SAM 3's trunk gives one map, its last
block's, which both necks (detector and tracker) read. Exposing it as the one level "trunk"
lets the dense pretraining (and a teacher) supervise exactly what the detector will read.
"""

from __future__ import annotations

import torch
from torch import nn

from vis_bench.methods.sam3.vit import VisionTrunk


class TrunkFeatureMap(nn.Module):
    """The trunk's last block's map [B, dim, H/patch, W/patch] as the level "trunk". Its keys
    are the trunk's own behind `trunk.`: a pretrained file loads back strictly through it."""

    def __init__(self, trunk: VisionTrunk) -> None:
        super().__init__()
        self.trunk = trunk

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"trunk": self.trunk(images)}
