"""Sine position encodings of feature maps: 2-D (DETR family) and 3-D over (T, H, W).

Computed from the padding mask, so positions count only valid pixels. Deformable DETR and
SeqFormer subtract 0.5 from the cumulative position before normalising (`offset=0.5`, the
default); DETR and the Mask2Former family do not (`offset=0.0`). The 3-D encoding of Mask2Former's
video decoder normalises time the same way and adds a time code of twice the features per axis
to the (y, x) code.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class _SineEncoding(nn.Module):
    """What the 2-D and 3-D encodings are configured by (they have no parameters)."""

    def __init__(
        self, num_pos_feats: int, temperature: float, normalize: bool, scale: float | None
    ) -> None:
        super().__init__()
        if scale is not None and not normalize:
            raise ValueError("normalize should be True if scale is passed")
        self.num_pos_feats = num_pos_feats
        self.temperature = temperature
        self.normalize = normalize
        self.scale = 2 * math.pi if scale is None else scale


class PositionEmbeddingSine(_SineEncoding):
    """mask [N, H, W] (True = padded) -> pos [N, 2 * num_pos_feats, H, W], y channels first."""

    def __init__(
        self,
        num_pos_feats: int = 128,
        temperature: float = 10000,
        normalize: bool = True,
        scale: float | None = None,
        offset: float = 0.5,
    ) -> None:
        super().__init__(num_pos_feats, temperature, normalize, scale)
        self.offset = offset

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        not_mask = ~mask
        y_embed = not_mask.cumsum(1, dtype=torch.float32)  # [N, H, W]
        x_embed = not_mask.cumsum(2, dtype=torch.float32)
        if self.normalize:
            eps = 1e-6
            y_extent = y_embed[:, -1:, :] + eps
            x_extent = x_embed[:, :, -1:] + eps
            if self.offset:
                y_embed = y_embed - self.offset
                x_embed = x_embed - self.offset
            y_embed = y_embed / y_extent * self.scale
            x_embed = x_embed / x_extent * self.scale

        pos_x = _sine_code(x_embed, self.num_pos_feats, self.temperature)  # [N, H, W, F]
        pos_y = _sine_code(y_embed, self.num_pos_feats, self.temperature)
        return torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)  # [N, 2F, H, W]


def _sine_code(embed: torch.Tensor, num_feats: int, temperature: float) -> torch.Tensor:
    """[..., ] positions -> [..., num_feats] interleaved sin (even) / cos (odd) channels."""
    dim_t = torch.arange(num_feats, dtype=torch.float32, device=embed.device)
    dim_t = temperature ** (2 * (dim_t // 2) / num_feats)
    code = embed[..., None] / dim_t
    return torch.stack((code[..., 0::2].sin(), code[..., 1::2].cos()), dim=-1).flatten(-2)


class PositionEmbeddingSine3D(_SineEncoding):
    """mask [B, T, H, W] (True = padded) -> pos [B, T, 2 * num_pos_feats, H, W].

    The (y, x) code as the 2-D encoding without offset; time is normalised like the spatial
    axes and coded with `2 * num_pos_feats` frequencies, then added to the (y, x) code.
    """

    def __init__(
        self,
        num_pos_feats: int = 64,
        temperature: float = 10000,
        normalize: bool = True,
        scale: float | None = None,
    ) -> None:
        super().__init__(num_pos_feats, temperature, normalize, scale)

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        not_mask = ~mask
        z_embed = not_mask.cumsum(1, dtype=torch.float32)
        y_embed = not_mask.cumsum(2, dtype=torch.float32)
        x_embed = not_mask.cumsum(3, dtype=torch.float32)
        if self.normalize:
            eps = 1e-6
            z_embed = z_embed / (z_embed[:, -1:] + eps) * self.scale
            y_embed = y_embed / (y_embed[:, :, -1:] + eps) * self.scale
            x_embed = x_embed / (x_embed[:, :, :, -1:] + eps) * self.scale
        feats = self.num_pos_feats
        pos_x = _sine_code(x_embed, feats, self.temperature)
        pos_y = _sine_code(y_embed, feats, self.temperature)
        pos_z = _sine_code(z_embed, 2 * feats, self.temperature)
        return (torch.cat((pos_y, pos_x), dim=-1) + pos_z).permute(0, 1, 4, 2, 3)
