"""SAM 3's tracker memory encoder: a mask (resized to 16x the feature grid) is downsampled by
four stride-2 convolutions, added to the projected frame features, fused by two ConvNeXt blocks
and projected to the memory width; sine positions go with it. Names follow the checkpoint below
`tracker.maskmem_backbone.`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.sam3.layer_norm_2d import LayerNorm2d
from vis_bench.methods.sam3.neck import SinePositionCache


class _MaskDownsampler(nn.Module):
    """(B, 1, S, S) -> (B, d, S/16, S/16): conv k3 s2 -> LayerNorm2d -> GELU, four times
    (channels x4 each), then a 1x1 convolution; the mask is first resized to `size`."""

    def __init__(self, d_model: int, size: int) -> None:
        super().__init__()
        self.size = size
        layers: list[nn.Module] = []
        channels = 1
        for _ in range(4):
            layers += [
                nn.Conv2d(channels, channels * 4, 3, stride=2, padding=1),
                LayerNorm2d(channels * 4),
                nn.GELU(),
            ]
            channels *= 4
        layers.append(nn.Conv2d(channels, d_model, 1))
        self.encoder = nn.Sequential(*layers)

    def forward(self, masks: torch.Tensor) -> torch.Tensor:
        if tuple(masks.shape[-2:]) != (self.size, self.size):
            masks = F.interpolate(
                masks.float(),
                size=(self.size, self.size),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
        return self.encoder(masks)


class _ConvNextBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = LayerNorm2d(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dwconv(x)).permute(0, 2, 3, 1)
        y = self.gamma * self.pwconv2(F.gelu(self.pwconv1(y)))
        return x + y.permute(0, 3, 1, 2)


class _Fuser(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_ConvNextBlock(dim) for _ in range(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MemoryEncoder(nn.Module):
    """Frame features (B, d, h, w) and mask values already scaled for it (B, 1, S, S) ->
    (memory (B, mem_dim, h, w), positions (B, mem_dim, h, w))."""

    def __init__(self, d_model: int, mem_dim: int, mask_size: int) -> None:
        super().__init__()
        self.mem_dim = mem_dim
        self.sine_positions = SinePositionCache(mem_dim)
        self.mask_downsampler = _MaskDownsampler(d_model, mask_size)
        self.pix_feat_proj = nn.Conv2d(d_model, d_model, 1)
        self.fuser = _Fuser(d_model)
        self.out_proj = nn.Conv2d(d_model, mem_dim, 1)

    def forward(
        self, features: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if features.shape[0] > 1 and features.stride(0) == 0:
            features = features[:1]  # one frame's features for every object: projected once
        x = self.pix_feat_proj(features) + self.mask_downsampler(masks)
        x = self.out_proj(self.fuser(x))
        return x, self.positions_like(x)

    def positions_like(self, memory: torch.Tensor) -> torch.Tensor:
        """Sine positions (B, mem_dim, h, w) of a memory map."""
        pos = self.sine_positions(*memory.shape[-2:], memory.device, memory.dtype)
        return pos.expand(memory.shape[0], -1, -1, -1)
