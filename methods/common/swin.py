"""Swin Transformer backbone with the module names of the SeqFormer and MS-STS releases.

Both releases carry the same detection-style Swin (`models/swin_transformer.py`): four stages of
(shifted-)window attention with a relative position bias, one LayerNorm per returned stage
(`norm0..norm3`), no classifier head and no absolute position embedding. The module names below
equal theirs, so the backbone part of their checkpoints (`detr.backbone.0.body.*`) loads strictly.

Behaviour that decides parity (tests/fixtures/golden/backbones/README.md, section 3):
* every stage pads its token map at the bottom/right to a multiple of the window (the window
  never shrinks for small maps) after `norm1`, and crops after attention; padded tokens are not
  masked as keys;
* odd blocks roll the map by `-window // 2` before partitioning and back after, with the
  additive -100 mask between the nine regions of the padded grid;
* stage i's output is `norm{i}` of that stage before patch merging, returned as `[B, C, H, W]`
  under the key `str(position in out_indices)`;
* exact GELU, LayerNorm eps 1e-5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

#: the additive mask between tokens of different regions of a shifted window
SHIFT_MASK_VALUE = -100.0

#: the releases' `swin_l_p4w12` configuration (ImageNet-22k Swin-L at 384 px, window 12)
SWIN_L = {
    "embed_dim": 192,
    "depths": (2, 2, 18, 2),
    "num_heads": (6, 12, 24, 48),
    "window_size": 12,
    "pretrain_img_size": 384,
    "drop_path_rate": 0.3,
}


class Mlp(nn.Module):
    """fc1 -> exact GELU -> fc2, with optional dropout after each linear."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class DropPath(nn.Module):
    """Stochastic depth: drop a whole residual branch per sample while training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


def relative_position_index(window: int) -> torch.Tensor:
    """[N, N] int64 with N = window^2: which bias-table row two window tokens use.

    Tokens are numbered row-major; for tokens i, j at (yi, xi), (yj, xj) the row is
    (yi - yj + window - 1) * (2 * window - 1) + (xi - xj + window - 1).
    """
    ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    ys, xs = ys.flatten(), xs.flatten()
    dy = ys[:, None] - ys[None, :] + window - 1
    dx = xs[:, None] - xs[None, :] + window - 1
    return dy * (2 * window - 1) + dx


def to_windows(x: torch.Tensor, window: int) -> torch.Tensor:
    """[B, Hp, Wp, C] -> [B * nW, window^2, C], windows row-major within each image."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)


def from_windows(windows: torch.Tensor, window: int, h: int, w: int) -> torch.Tensor:
    """Inverse of `to_windows`: [B * nW, window^2, C] -> [B, Hp, Wp, C]."""
    c = windows.shape[-1]
    x = windows.view(-1, h // window, w // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, h, w, c)


def padded_size(size: int, multiple: int) -> int:
    return -(-size // multiple) * multiple


def shift_region_mask(h: int, w: int, window: int, shift: int, device=None) -> torch.Tensor:
    """Bool [nW, N, N]: True between tokens of a shifted window that come from different
    regions of the padded h x w grid (the pairs that get -100 before the softmax)."""
    regions = torch.zeros((1, h, w, 1), device=device)
    bounds = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    label = 0
    for rows in bounds:
        for cols in bounds:
            regions[:, rows, cols, :] = label
            label += 1
    ids = to_windows(regions, window).squeeze(-1)  # [nW, N]
    return ids[:, None, :] != ids[:, :, None]


class ShiftRegions(nn.Module):
    """The stage's `shift_region_mask` as a (parameter-free) module, so that the mask is a
    module output a parity hook can read."""

    def __init__(self, window: int, shift: int) -> None:
        super().__init__()
        self.window = window
        self.shift = shift

    def forward(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        """Bool [nW, N, N] of the h x w map padded to the window (see `shift_region_mask`)."""
        ws = self.window
        return shift_region_mask(padded_size(h, ws), padded_size(w, ws), ws, self.shift, device)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, plus the learned relative position bias."""

    def __init__(
        self,
        dim: int,
        window_size: int,
        num_heads: int,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.window_size = window_size
        self.num_heads = num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads)
        )
        # persistent: the releases' checkpoints carry it
        self.register_buffer("relative_position_index", relative_position_index(window_size))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x [B * nW, N, C]; mask: additive [nW, N, N] or None."""
        windows, n, c = x.shape
        heads = self.num_heads
        q, k, v = self.qkv(x).view(windows, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)  # [B * nW, heads, N, N]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        attn = attn + bias.view(n, n, heads).permute(2, 0, 1)[None]
        if mask is not None:
            num_windows = mask.shape[0]
            attn = attn.view(-1, num_windows, heads, n, n) + mask[None, :, None]
            attn = attn.view(-1, heads, n, n)
        attn = self.attn_drop(attn.softmax(dim=-1))
        out = (attn @ v).transpose(1, 2).reshape(windows, n, c)
        return self.proj_drop(self.proj(out))


class SwinTransformerBlock(nn.Module):
    """(Shifted-)window attention and an MLP, each pre-normed and residual."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: int,
        shift_size: int,
        mlp_ratio: float,
        qkv_bias: bool,
        qk_scale: float | None,
        drop: float,
        attn_drop: float,
        drop_path: float,
    ) -> None:
        super().__init__()
        if not 0 <= shift_size < window_size:
            raise ValueError(f"shift {shift_size} must lie in [0, window {window_size})")
        self.window_size = window_size
        self.shift_size = shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(
            dim, window_size, num_heads, qkv_bias, qk_scale, attn_drop, proj_drop=drop
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x: torch.Tensor, h: int, w: int, mask: torch.Tensor) -> torch.Tensor:
        """x [B, h*w, C]; mask: the stage's additive shift mask (used by shifted blocks)."""
        b, _, c = x.shape
        ws, shift = self.window_size, self.shift_size
        hp, wp = padded_size(h, ws), padded_size(w, ws)
        y = F.pad(self.norm1(x).view(b, h, w, c), (0, 0, 0, wp - w, 0, hp - h))
        if shift:
            y = torch.roll(y, shifts=(-shift, -shift), dims=(1, 2))
        y = self.attn(to_windows(y, ws), mask if shift else None)
        y = from_windows(y, ws, hp, wp)
        if shift:
            y = torch.roll(y, shifts=(shift, shift), dims=(1, 2))
        y = y[:, :h, :w, :].reshape(b, h * w, c)
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """2x2 neighbourhoods -> LayerNorm(4C) -> Linear(4C -> 2C); odd maps are zero-padded."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        b, _, c = x.shape
        x = F.pad(x.view(b, h, w, c), (0, 0, 0, w % 2, 0, h % 2))
        # order: (even row, even col), (odd, even), (even, odd), (odd, odd)
        x = torch.cat(
            [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1
        )
        return self.reduction(self.norm(x.view(b, -1, 4 * c)))


class BasicLayer(nn.Module):
    """One stage: `depth` blocks alternating plain and shifted windows, then PatchMerging."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window_size: int,
        drop_path: Sequence[float],
        downsample: bool,
        use_checkpoint: bool = False,
        **block_kwargs: Any,
    ) -> None:
        super().__init__()
        self.window_size = window_size
        self.shift_size = window_size // 2
        self.use_checkpoint = use_checkpoint
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(
                dim,
                num_heads,
                window_size,
                shift_size=0 if i % 2 == 0 else window_size // 2,
                drop_path=drop_path[i],
                **block_kwargs,
            )
            for i in range(depth)
        )
        self.downsample = PatchMerging(dim) if downsample else None
        # registered last and without parameters: the state dict's keys and order are unchanged
        self.shift_regions = ShiftRegions(window_size, self.shift_size)

    def forward(
        self, x: torch.Tensor, h: int, w: int
    ) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        """x [B, h*w, C] -> (stage output, input of the next stage, its h, its w)."""
        regions = self.shift_regions(h, w, x.device)
        mask = torch.zeros(regions.shape, dtype=x.dtype, device=x.device)
        mask = mask.masked_fill(regions, SHIFT_MASK_VALUE)
        for block in self.blocks:
            if self.use_checkpoint and self.training:
                x = checkpoint(block, x, h, w, mask, use_reentrant=False)
            else:
                x = block(x, h, w, mask)
        if self.downsample is None:
            return x, x, h, w
        return x, self.downsample(x, h, w), (h + 1) // 2, (w + 1) // 2


class PatchEmbed(nn.Module):
    """Zero-pad to a multiple of the patch, a patch x patch conv, then LayerNorm per token."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int, norm: bool) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim) if norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        p = self.patch_size
        x = self.proj(F.pad(x, (0, padded_size(w, p) - w, 0, padded_size(h, p) - h)))
        if self.norm is not None:
            x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return x


class SwinTransformer(nn.Module):
    """The releases' SwinTransformer: constructor arguments as theirs (`SWIN_L` for Swin-L).

    `forward(x)` returns `{str(k): [B, C_i, H_i, W_i]}` for the k-th entry i of `out_indices`
    (stride 4 * 2^i, channels embed_dim * 2^i). `num_channels`/`strides` list the same.
    """

    def __init__(
        self,
        pretrain_img_size: int = 224,
        patch_size: int = 4,
        in_chans: int = 3,
        embed_dim: int = 96,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window_size: int = 7,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.2,
        ape: bool = False,
        patch_norm: bool = True,
        out_indices: Sequence[int] = (0, 1, 2, 3),
        frozen_stages: int = -1,
        use_checkpoint: bool = False,
    ) -> None:
        super().__init__()
        if not set(out_indices) <= set(range(len(depths))):
            raise ValueError(f"out_indices {out_indices} name stages beyond {len(depths)}")
        self.pretrain_img_size = pretrain_img_size
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, patch_norm)
        self.absolute_pos_embed: nn.Parameter | None = None
        if ape:  # no release uses it; an embedding at the pretraining grid, resized bicubically
            grid = pretrain_img_size // patch_size
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, embed_dim, grid, grid))
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()
        self.layers = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(depths, num_heads, strict=True)):
            first = sum(depths[:i])
            self.layers.append(
                BasicLayer(
                    embed_dim * 2**i,
                    depth,
                    heads,
                    window_size,
                    drop_path=rates[first : first + depth],
                    downsample=i < len(depths) - 1,
                    use_checkpoint=use_checkpoint,
                    mlp_ratio=mlp_ratio,
                    qkv_bias=qkv_bias,
                    qk_scale=qk_scale,
                    drop=drop_rate,
                    attn_drop=attn_drop_rate,
                )
            )
        self.num_features = [embed_dim * 2**i for i in range(len(depths))]
        for i in self.out_indices:
            self.add_module(f"norm{i}", nn.LayerNorm(self.num_features[i]))
        self.num_channels = [self.num_features[i] for i in self.out_indices]
        self.strides = [patch_size * 2**i for i in self.out_indices]
        self.apply(_init_weights)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        """`frozen_stages` k >= 0: no gradient for the patch embedding (k >= 1: and the absolute
        embedding; k >= 2: and stages 0..k-2), as the releases' class does (-1: none)."""
        params: list[nn.Parameter] = []
        if self.frozen_stages >= 0:
            params += self.patch_embed.parameters()
        if self.frozen_stages >= 1 and self.absolute_pos_embed is not None:
            params.append(self.absolute_pos_embed)
        for layer in list(self.layers)[: max(self.frozen_stages - 1, 0)]:
            params += layer.parameters()
        for param in params:
            param.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x [B, 3, H, W] -> stage outputs (intermediates: forward hooks, swin_parity.py)."""
        x = self.patch_embed(x)
        b, _, h, w = x.shape
        if self.absolute_pos_embed is not None:
            x = x + F.interpolate(self.absolute_pos_embed, size=(h, w), mode="bicubic")
        x = self.pos_drop(x.flatten(2).transpose(1, 2))
        outs = []
        for i, layer in enumerate(self.layers):
            out, x, next_h, next_w = layer(x, h, w)
            if i in self.out_indices:
                out = getattr(self, f"norm{i}")(out)
                outs.append(out.view(b, h, w, -1).permute(0, 3, 1, 2).contiguous())
            h, w = next_h, next_w
        return {str(k): v for k, v in enumerate(outs)}


def _init_weights(module: nn.Module) -> None:
    """The releases' `init_weights(None)`: truncated-normal linears, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
