"""SAM 3's segmentation head: the encoder memory attends to the prompt, replaces the coarsest
backbone level, a pixel decoder upsamples it through the finer levels, and each query's
embedding is dotted with the instance projection of the finest map. Names follow the checkpoint
below `detector.segmentation_head.`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class SegmentationOutput:
    #: (B, Q, H, W) mask logits at the finest backbone level
    pred_masks: torch.Tensor
    #: (B, 1, H, W) the prompt's semantic map (unused by the video model)
    semantic_seg: torch.Tensor


class _PixelDecoder(nn.Module):
    def __init__(self, d_model: int, stages: int) -> None:
        super().__init__()
        self.conv_layers = nn.ModuleList(
            nn.Conv2d(d_model, d_model, 3, padding=1) for _ in range(stages)
        )
        self.norms = nn.ModuleList(nn.GroupNorm(8, d_model) for _ in range(stages))

    def forward(self, levels: list[torch.Tensor]) -> torch.Tensor:
        """Levels finest first; nearest upsampling, sum, conv, GroupNorm, ReLU per stage."""
        x = levels[-1]
        for stage, finer in enumerate(reversed(levels[:-1])):
            x = F.interpolate(x, size=finer.shape[-2:], mode="nearest") + finer
            x = F.relu(self.norms[stage](self.conv_layers[stage](x)))
        return x


class _MaskPredictor(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.mask_embed = _Mlp3(d_model)


class _Mlp3(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(d_model, d_model) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else torch.relu(layer(x))
        return x


class SegmentationHead(nn.Module):
    """Queries (B, Q, d), backbone levels (finest first, each (B, d, h, w)), the encoder memory
    (B, HW, d) of the coarsest level and the prompt (B, P, d; `padding` True where padding)."""

    def __init__(self, d_model: int = 256, heads: int = 8, stages: int = 3) -> None:
        super().__init__()
        self.pixel_decoder = _PixelDecoder(d_model, stages)
        self.mask_predictor = _MaskPredictor(d_model)
        self.cross_attend_prompt = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.cross_attn_norm = nn.LayerNorm(d_model)
        self.semantic_seg_head = nn.Conv2d(d_model, 1, 1)
        self.instance_seg_head = nn.Conv2d(d_model, d_model, 1)

    def forward(
        self,
        queries: torch.Tensor,
        levels: list[torch.Tensor],
        memory: torch.Tensor,
        prompt: torch.Tensor,
        padding: torch.Tensor,
    ) -> SegmentationOutput:
        y = self.cross_attn_norm(memory)
        memory = (
            memory
            + self.cross_attend_prompt(
                y, prompt, prompt, key_padding_mask=padding, need_weights=False
            )[0]
        )
        b, _, h, w = levels[-1].shape
        coarsest = memory[:, : h * w].transpose(1, 2).reshape(b, -1, h, w)
        pixels = self.pixel_decoder([*levels[:-1], coarsest])
        instances = self.instance_seg_head(pixels)
        embeds = self.mask_predictor.mask_embed(queries)
        masks = torch.einsum("bqc,bchw->bqhw", embeds, instances)
        return SegmentationOutput(pred_masks=masks, semantic_seg=self.semantic_seg_head(pixels))
