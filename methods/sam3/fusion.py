"""SAM 3's prompt side of the detector before the decoder: the geometry encoder (for a text-only
prompt, its CLS token alone, which the authors always append to the prompt) and the DETR
encoder, whose image tokens attend to themselves and to the prompt. Names follow the checkpoint
below `detector.geometry_encoder.` and `detector.transformer.encoder.`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class FusionSizes:
    """Sizes of the geometry and DETR encoders, from the options (`detector_sizes_of`;
    `Sam3Options`' defaults are the released model's)."""

    d_model: int
    heads: int
    ffn: int
    geometry_layers: int
    encoder_layers: int
    roi_size: int = 7


class _FusionLayer(nn.Module):
    """Pre-norm layer: self-attention, cross-attention to `memory`, ReLU FFN. The authors' name
    for the cross-attention is `cross_attn_image` in both encoders."""

    def __init__(self, sizes: FusionSizes, pos_in_self_attention: bool) -> None:
        super().__init__()
        d = sizes.d_model
        self.pos_in_self_attention = pos_in_self_attention
        self.self_attn = nn.MultiheadAttention(d, sizes.heads, batch_first=True)
        self.cross_attn_image = nn.MultiheadAttention(d, sizes.heads, batch_first=True)
        self.linear1 = nn.Linear(d, sizes.ffn)
        self.linear2 = nn.Linear(sizes.ffn, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.norm3 = nn.LayerNorm(d)

    def forward(
        self,
        x: torch.Tensor,
        pos: torch.Tensor | None,
        self_padding: torch.Tensor | None,
        memory: torch.Tensor,
        memory_key: torch.Tensor,
        memory_padding: torch.Tensor | None,
    ) -> torch.Tensor:
        y = self.norm1(x)
        qk = y + pos if self.pos_in_self_attention and pos is not None else y
        x = x + self.self_attn(qk, qk, y, key_padding_mask=self_padding, need_weights=False)[0]
        y = self.norm2(x)
        x = (
            x
            + self.cross_attn_image(
                y, memory_key, memory, key_padding_mask=memory_padding, need_weights=False
            )[0]
        )
        return x + self.linear2(torch.relu(self.linear1(self.norm3(x))))


class GeometryEncoder(nn.Module):
    """Encodes geometric prompts; only the text-only case exists yet: the CLS token, projected,
    normalised and attending to the image (`encode` layers), then `encode_norm`. The box and
    point projections are declared so the checkpoint loads by name."""

    def __init__(self, sizes: FusionSizes) -> None:
        super().__init__()
        d = sizes.d_model
        self.label_embed = nn.Embedding(2, d)
        self.cls_embed = nn.Embedding(1, d)
        self.points_direct_project = nn.Linear(2, d)
        self.points_pool_project = nn.Linear(d, d)
        self.points_pos_enc_project = nn.Linear(d, d)
        self.boxes_direct_project = nn.Linear(4, d)
        self.boxes_pool_project = nn.Conv2d(d, d, sizes.roi_size)
        self.boxes_pos_enc_project = nn.Linear(d + 2, d)
        self.final_proj = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)
        self.img_pre_norm = nn.LayerNorm(d)
        self.encode = nn.ModuleList(
            _FusionLayer(sizes, pos_in_self_attention=False) for _ in range(sizes.geometry_layers)
        )
        self.encode_norm = nn.LayerNorm(d)

    def text_only(self, image: torch.Tensor, image_pos: torch.Tensor) -> torch.Tensor:
        """(B, 1, d): the CLS token for each image's tokens `image` (B, HW, d) with positions."""
        b = image.shape[0]
        x = self.norm(self.final_proj(self.cls_embed.weight)).expand(b, 1, -1)
        for layer in self.encode:
            x = layer(x, None, None, image, image + image_pos, None)
        return self.encode_norm(x)


class DetrEncoder(nn.Module):
    """Image tokens (B, HW, d) with positions attend to themselves (positions on queries and
    keys) and to the prompt (B, P, d; `prompt_padding` True where padding)."""

    def __init__(self, sizes: FusionSizes) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            _FusionLayer(sizes, pos_in_self_attention=True) for _ in range(sizes.encoder_layers)
        )

    def forward(
        self,
        image: torch.Tensor,
        image_pos: torch.Tensor,
        prompt: torch.Tensor,
        prompt_padding: torch.Tensor,
    ) -> torch.Tensor:
        x = image
        for layer in self.layers:
            x = layer(x, image_pos, None, prompt, prompt, prompt_padding)
        return x
