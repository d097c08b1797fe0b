"""SAM 3's vision backbone: the ViT trunk and its two necks (the detector's `convs` and the
tracker's `sam2_convs`, same shapes, separate weights), each giving maps at 4x, 2x, 1x and 0.5x
of the trunk's grid; the last is dropped ("scalp"), as the authors' VL backbone does. Names
follow the checkpoint below `detector.backbone.vision_backbone.`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vis_bench.methods.sam3.vit import VisionTrunk, VitSizes

SCALES = (4.0, 2.0, 1.0, 0.5)


class _ScaleConv(nn.Module):
    """One level: resample the trunk's map by `scale`, then 1x1 and 3x3 convolutions to d."""

    def __init__(self, dim: int, d_model: int, scale: float) -> None:
        super().__init__()
        self.scale = scale
        if scale == 4.0:
            self.dconv_2x2_0 = nn.ConvTranspose2d(dim, dim // 2, 2, stride=2)
            self.gelu = nn.GELU()
            self.dconv_2x2_1 = nn.ConvTranspose2d(dim // 2, dim // 4, 2, stride=2)
            width = dim // 4
        elif scale == 2.0:
            self.dconv_2x2 = nn.ConvTranspose2d(dim, dim // 2, 2, stride=2)
            width = dim // 2
        elif scale in (1.0, 0.5):
            width = dim
        else:
            raise ValueError(f"scale {scale} is not one of {SCALES}")
        self.conv_1x1 = nn.Conv2d(width, d_model, 1)
        self.conv_3x3 = nn.Conv2d(d_model, d_model, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 4.0:
            x = self.dconv_2x2_1(self.gelu(self.dconv_2x2_0(x)))
        elif self.scale == 2.0:
            x = self.dconv_2x2(x)
        elif self.scale == 0.5:
            x = nn.functional.max_pool2d(x, 2, stride=2)
        return self.conv_3x3(self.conv_1x1(x))


def sine_positions(d_model: int, h: int, w: int, temperature: float = 10000.0) -> torch.Tensor:
    """(d_model, h, w) normalised sine encoding: y on the first half of the channels, x on the
    second, each interleaving sin and cos."""
    feats = d_model // 2
    eps, scale = 1e-6, 2 * math.pi
    y = torch.arange(1, h + 1, dtype=torch.float32)[:, None].expand(h, w)
    x = torch.arange(1, w + 1, dtype=torch.float32)[None, :].expand(h, w)
    y = y / (h + eps) * scale
    x = x / (w + eps) * scale
    dim_t = temperature ** (2 * torch.div(torch.arange(feats), 2, rounding_mode="floor") / feats)
    pos_x, pos_y = x[..., None] / dim_t, y[..., None] / dim_t
    pos_x = torch.stack((pos_x[..., 0::2].sin(), pos_x[..., 1::2].cos()), dim=3).flatten(2)
    pos_y = torch.stack((pos_y[..., 0::2].sin(), pos_y[..., 1::2].cos()), dim=3).flatten(2)
    return torch.cat((pos_y, pos_x), dim=2).permute(2, 0, 1)


class SinePositionCache:
    """`sine_positions` kept per (h, w, device, dtype): they depend on the map's shape alone, and
    building the finest level's (256 x 288 x 288 at the release's sizes) on the CPU and copying
    it every frame took several times the GPU's whole frame."""

    def __init__(self, d_model: int) -> None:
        self.d_model = d_model
        self._built: dict[tuple, torch.Tensor] = {}

    def __call__(self, h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = (h, w, device, dtype)
        if key not in self._built:
            with torch.inference_mode(False):  # usable later outside inference mode too
                positions = sine_positions(self.d_model, h, w)
                self._built[key] = positions.to(device=device, dtype=dtype).contiguous()
        return self._built[key]


@dataclass(frozen=True)
class VisionFeatures:
    """Three levels (finest first) per neck, and their position encodings (B, d, h, w)."""

    detector: list[torch.Tensor]
    tracker: list[torch.Tensor]
    positions: list[torch.Tensor]


class VisionBackbone(nn.Module):
    """Images (B, 3, H, W) in [-1, 1] -> `VisionFeatures`; the trunk runs once for both necks."""

    def __init__(self, sizes: VitSizes, d_model: int) -> None:
        super().__init__()
        self.trunk = VisionTrunk(sizes)
        dim = self.trunk.sizes.dim
        self.d_model = d_model
        self.convs = nn.ModuleList(_ScaleConv(dim, d_model, s) for s in SCALES)
        self.sam2_convs = nn.ModuleList(_ScaleConv(dim, d_model, s) for s in SCALES)
        self.sine_positions = SinePositionCache(d_model)

    def forward(self, images: torch.Tensor) -> VisionFeatures:
        x = self.trunk(images)
        detector = [conv(x) for conv in self.convs][:-1]
        tracker = [conv(x) for conv in self.sam2_convs][:-1]
        positions = [
            self.sine_positions(*f.shape[-2:], f.device, f.dtype).expand(f.shape[0], -1, -1, -1)
            for f in detector
        ]
        return VisionFeatures(detector=detector, tracker=tracker, positions=positions)
