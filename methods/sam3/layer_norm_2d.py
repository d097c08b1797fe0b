"""LayerNorm over the channels of an (N, C, H, W) map, as SAM's prompt encoder, mask decoder
and memory encoder use it (statistics per pixel, eps 1e-6)."""

from __future__ import annotations

import torch
from torch import nn


class LayerNorm2d(nn.Module):
    """Channel LayerNorm of a channels-first map; keys `weight`, `bias`."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]
