"""The heads of a ViT that segments: class logits from the queries, mask logits from the queries'
mask embeddings against the patch tokens upscaled to stride 4.

Module shapes and names follow the EoMT shell as VidEoMT's authors build it (tue-mps/videomt
`videomt/modeling/backbone/videomt.py`): the mask embedding is three Linear layers with GELU
between them (`mask_head.0/2/4`); each upscale block is ConvTranspose2d k2 s2 -> GELU ->
depthwise 3x3 without bias -> LayerNorm2d (`upscale.<i>.conv1/conv2/norm`), log2(patch) - 2 of
them (two for 16-pixel patches). A method registers these modules itself, in its checkpoints'
key order; `query_predictions` is the arithmetic they share.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.fast_paths import FastPaths, active_paths
from vis_bench.methods.common.vit import LAYER_NORM_EPS


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a [B, C, H, W] map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ScaleBlock(nn.Module):
    """x2 upsampling: ConvTranspose2d k2 s2 -> GELU -> depthwise 3x3 (no bias) -> LayerNorm2d."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv1 = nn.ConvTranspose2d(dim, dim, kernel_size=2, stride=2)
        self.act = nn.GELU()
        self.conv2 = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim, bias=False)
        self.norm = LayerNorm2d(dim, eps=LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv2(self.act(self.conv1(x))))


def upscale_blocks(dim: int, patch_size: int) -> nn.Sequential:
    """Blocks taking the patch grid to stride 4: log2(patch) - 2 of them, at least one."""
    count = max(1, int(math.log2(patch_size)) - 2)
    return nn.Sequential(*(ScaleBlock(dim) for _ in range(count)))


def mask_embedding(dim: int) -> nn.Sequential:
    """The queries' mask embedding: Linear -> GELU -> Linear -> GELU -> Linear."""
    return nn.Sequential(
        nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim)
    )


def query_predictions(
    x: torch.Tensor,
    grid: tuple[int, int],
    num_queries: int,
    num_prefix_tokens: int,
    class_head: nn.Module,
    mask_head: nn.Module,
    upscale: nn.Module,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normed `[queries, prefix (cls, registers), patches]` [B, Q + P + Hg*Wg, C] -> class
    logits [B, Q, K+1] and stride-4 mask logits [B, Q, 4Hg, 4Wg]."""
    queries = x[:, :num_queries]
    patches = patch_map(x[:, num_queries + num_prefix_tokens :], grid, active_paths(upscale))
    masks = torch.einsum("bqc,bchw->bqhw", mask_head(queries), upscale(patches))
    return class_head(queries), masks


def patch_map(patches: torch.Tensor, grid: tuple[int, int], paths: FastPaths) -> torch.Tensor:
    """Patch tokens [B, Hg*Wg, C] as a map [B, C, Hg, Wg], a view either way.

    The authors' `transpose(1, 2).reshape(...)` gives a single image's map a batch stride of C,
    which PyTorch's convolutions take for NCHW: the first upscale block then copies its input
    and runs its transposed convolution and depthwise convolution in NCHW, on CPU about half as
    fast as in NHWC. With `channels_last` (CPU) the same memory is viewed with NHWC strides
    throughout, so every upscale block runs in NHWC; the values are the same.
    """
    batch, _, dim = patches.shape
    if paths.channels_last and patches.device.type == "cpu":
        return patches.reshape(batch, *grid, dim).permute(0, 3, 1, 2)
    return patches.transpose(1, 2).reshape(batch, -1, *grid)
