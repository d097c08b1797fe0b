"""DVIS++'s segmenter: Mask2Former's decoder run on each frame alone, plus a ReID branch.

The decoder is the family's (`MaskedAttentionDecoder` with the 2-D encoding, every frame its own
video of one frame). DVIS++ adds `reid_embed`, a 3-layer MLP on the normed queries, and hands on
embeddings of 2C channels: the segmenter's C channels and their ReID embedding side by side.
Two versions exist and both are used: `embeds` with the normed queries (`decoder_norm(out)`,
what the tracker's matching compares) and `embeds_no_norm` with the raw last-layer queries (what
the tracker consumes and the refiner attends to); the ReID half is the same in both
(`video_mask2former_transformer_decoder.py`, `VideoMultiScaleMaskedTransformerDecoder_dvisPlus`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vis_bench.methods.common.mlp import MLP
from vis_bench.methods.families.mask2former.masked_decoder import (
    DecoderOutput,
    MaskedAttentionDecoder,
)
from vis_bench.methods.families.mask2former.model import Mask2FormerConfig, decoder_arguments


class ReIDDecoder(MaskedAttentionDecoder):
    """The family's decoder with `reid_embed` (keys `sem_seg_head.predictor.reid_embed.*`)."""

    def __init__(self, cfg: Mask2FormerConfig, reid_hidden_dim: int, reid_layers: int) -> None:
        super().__init__(*decoder_arguments(cfg), temporal=False)
        self.reid_embed: nn.Module = nn.Identity()
        if reid_layers > 0:
            self.reid_embed = MLP(cfg.hidden_dim, reid_hidden_dim, cfg.hidden_dim, reid_layers)
            for layer in self.reid_embed.layers:
                # detectron2's c2_xavier_fill
                nn.init.kaiming_uniform_(layer.weight, a=1)
                nn.init.constant_(layer.bias, 0)


@dataclass
class FrameQueries:
    """The segmenter's per-frame predictions, frames first.

    logits [T, Q, K+1]; masks [T, Q, h, w] (stride-4 logits of the padded input); embeds and
    embeds_no_norm [T, Q, 2C] (see the module docstring); mask_features [T, D, h, w].
    """

    logits: torch.Tensor
    masks: torch.Tensor
    embeds: torch.Tensor
    embeds_no_norm: torch.Tensor
    mask_features: torch.Tensor

    def __len__(self) -> int:
        return int(self.logits.shape[0])

    def frames(self, start: int, stop: int | None = None) -> FrameQueries:
        """Frames start..stop-1 (views)."""
        pick = slice(start, stop)
        return FrameQueries(
            self.logits[pick],
            self.masks[pick],
            self.embeds[pick],
            self.embeds_no_norm[pick],
            self.mask_features[pick],
        )


def frame_queries(
    decoder: ReIDDecoder, out: DecoderOutput, mask_features: torch.Tensor
) -> FrameQueries:
    """The decoder's T one-frame videos -> `FrameQueries` with the 2C embeddings."""
    assert out.queries is not None
    reid = decoder.reid_embed(out.embeddings)  # [T, Q, C], from the normed queries
    return FrameQueries(
        logits=out.logits,
        masks=out.masks[:, :, 0],
        embeds=torch.cat([out.embeddings, reid], dim=-1),
        embeds_no_norm=torch.cat([out.queries, reid], dim=-1),
        mask_features=mask_features,
    )
