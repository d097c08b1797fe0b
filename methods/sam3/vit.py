"""SAM 3's image trunk: a plain ViT (patch 14, no patch bias) with tiled absolute positions, a
LayerNorm before the blocks, windowed and global blocks and 2-D axial rotary positions. Names
follow the authors' checkpoint below `detector.backbone.vision_backbone.trunk.`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.vit import Mlp


@dataclass(frozen=True)
class VitSizes:
    """Sizes of the trunk, from the options (`detector_sizes_of`; `Sam3Options`' defaults are the released model's)."""

    image: int
    patch: int
    dim: int
    depth: int
    heads: int
    mlp_ratio: float
    window: int
    global_blocks: tuple[int, ...]
    pretrain_image: int
    rope_theta: float = 10000.0

    @property
    def grid(self) -> int:
        return self.image // self.patch


def axial_rope(head_dim: int, side: int, scale: float, theta: float) -> torch.Tensor:
    """(side*side, head_dim/2) unit complex rotations: x positions on the first half of the
    pairs, y on the second, positions scaled by `scale` (window / grid on global blocks)."""
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 4)[: head_dim // 4].float() / head_dim))
    index = torch.arange(side * side, dtype=torch.float32)
    x = (index % side) * scale
    y = torch.div(index, side, rounding_mode="floor") * scale
    angles = torch.cat([torch.outer(x, freqs), torch.outer(y, freqs)], dim=-1)
    return torch.polar(torch.ones_like(angles), angles)


def apply_rope(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Rotate consecutive channel pairs of x (..., n, c) by `freqs` (n, c/2), in fp32."""
    pairs = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(pairs * freqs).flatten(-2).type_as(x)


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int, tokens_side: int, scale: float, theta: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        freqs = axial_rope(dim // heads, tokens_side, scale, theta)
        self.register_buffer("freqs_cis", freqs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = apply_rope(q, self.freqs_cis), apply_rope(k, self.freqs_cis)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, h, w, c))


class _Block(nn.Module):
    """Pre-norm block; windowed blocks attend within `window` x `window` tiles (zero padded)."""

    def __init__(self, sizes: VitSizes, window: int) -> None:
        super().__init__()
        self.window = window
        side = window if window else sizes.grid
        scale = 1.0 if window else sizes.window / sizes.grid
        self.norm1 = nn.LayerNorm(sizes.dim)
        self.attn = _Attention(sizes.dim, sizes.heads, side, scale, sizes.rope_theta)
        self.norm2 = nn.LayerNorm(sizes.dim)
        self.mlp = Mlp(sizes.dim, int(sizes.dim * sizes.mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        if self.window:
            y = self._windowed(y)
        else:
            y = self.attn(y)
        x = x + y
        return x + self.mlp(self.norm2(x))

    def _windowed(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        s = self.window
        pad_h, pad_w = (s - h % s) % s, (s - w % s) % s
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
        hp, wp = h + pad_h, w + pad_w
        tiles = x.view(b, hp // s, s, wp // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, s, s, c)
        tiles = self.attn(tiles)
        x = tiles.view(b, hp // s, wp // s, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        return x[:, :h, :w]


class _PatchEmbed(nn.Module):
    def __init__(self, sizes: VitSizes) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, sizes.dim, sizes.patch, stride=sizes.patch, bias=False)


class VisionTrunk(nn.Module):
    """Images (B, 3, H, W), normalised to [-1, 1] -> the last block's map (B, dim, H/14, W/14)."""

    def __init__(self, sizes: VitSizes) -> None:
        super().__init__()
        self.sizes = sizes
        pretrain = sizes.pretrain_image // sizes.patch
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + pretrain * pretrain, sizes.dim))
        self.patch_embed = _PatchEmbed(sizes)
        self.ln_pre = nn.LayerNorm(sizes.dim)
        self.blocks = nn.ModuleList(
            _Block(sizes, 0 if i in sizes.global_blocks else sizes.window)
            for i in range(sizes.depth)
        )

    def positions(self, h: int, w: int) -> torch.Tensor:
        """The pretraining grid's absolute positions (class token dropped), tiled to h x w."""
        side = int((self.pos_embed.shape[1] - 1) ** 0.5)
        grid = self.pos_embed[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        tiled = grid.tile([1, 1, -(-h // side), -(-w // side)])[:, :, :h, :w]
        return tiled.permute(0, 2, 3, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed.proj(images).permute(0, 2, 3, 1)
        x = self.ln_pre(x + self.positions(x.shape[1], x.shape[2]))
        for block in self.blocks:
            x = block(x)
        return x.permute(0, 3, 1, 2)
