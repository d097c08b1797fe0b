"""The ViT-Adapter's layers, as DVIS++'s `D2VitAdapterDinoV2` builds them (vit_adapter.py).

The adapter keeps its own multi-scale tokens ("c": stride 8, 16 and 32 maps at the ViT's width,
concatenated in that order) beside the ViT's stride-16 patch tokens:

* `SpatialPriorModule` makes them from the image with a small conv net (BatchNorm, ReLU), plus
  a stride-4 map that skips the interactions;
* `Extractor` lets every adapter token read the ViT's patch tokens by multi-scale deformable
  attention (one value level: the ViT grid), then refines it with a feed-forward whose hidden
  layer runs one shared depthwise 3x3 conv over each of the three maps separately.

Module names equal the authors' (`spm.stem.N`, `extractor.{query_norm, feat_norm, attn, ffn.fc1,
ffn.dwconv.dwconv, ffn.fc2, ffn_norm}`), so the released checkpoints load strictly. Sources, file
and line of zhang-tao-whu/DVIS_Plus@c0eb2495 `DVIS_Plus/mask2former/modeling/
backbones_vitAdapter/adapter.py`: reference points 24-58, ConvFFN/DWConv 61-98, Extractor
101-135, SpatialPriorModule 304-365.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from vis_bench.methods.common.ms_deform_attn import MSDeformAttn

#: LayerNorm eps of the adapter's norms (the DINOv2 ViT's norm layer, which the authors reuse)
ADAPTER_NORM_EPS = 1e-6
#: strides of the adapter's token maps, in the order they are concatenated
TOKEN_STRIDES = (8, 16, 32)
#: the ViT's stride (16 x 16 patches): the extractors' one value level
VIT_STRIDE = 16

Size = tuple[int, int]


@dataclass(frozen=True)
class ExtractorInputs:
    """What every extractor of one forward reads, fixed by the input size.

    reference_points [B, S, 1, 2] (x, y): the centre of each adapter token (stride 8, 16, 32
    maps in order), normalised to [0, 1]; spatial_shapes [[Hv, Wv]] and level_start_index [0]:
    the ViT's patch grid as the one value level; token_sizes: the three maps' (h, w).
    """

    reference_points: torch.Tensor
    spatial_shapes: torch.Tensor
    level_start_index: torch.Tensor
    token_sizes: tuple[Size, Size, Size]


def extractor_inputs(height: int, width: int, batch: int, device: torch.device) -> ExtractorInputs:
    """The extractors' inputs for images of `height` x `width` (multiples of 32).

    The authors also build inputs for an injector (ViT tokens reading the adapter's maps);
    DVIS++'s interaction blocks have none, so those are not made here.
    """
    fine, middle, coarse = ((height // s, width // s) for s in TOKEN_STRIDES)
    sizes = (fine, middle, coarse)
    points = []
    for h, w in sizes:
        ref_y, ref_x = torch.meshgrid(
            torch.linspace(0.5, h - 0.5, h, dtype=torch.float32, device=device),
            torch.linspace(0.5, w - 0.5, w, dtype=torch.float32, device=device),
            indexing="ij",
        )
        points.append(torch.stack((ref_x.reshape(-1) / w, ref_y.reshape(-1) / h), -1))
    reference = torch.cat(points, 0)[None, :, None].expand(batch, -1, -1, -1)
    grid = (height // VIT_STRIDE, width // VIT_STRIDE)
    shapes = torch.as_tensor([grid], dtype=torch.long, device=device)
    start = torch.zeros(1, dtype=torch.long, device=device)
    return ExtractorInputs(reference, shapes, start, sizes)


def tokens_to_maps(tokens: torch.Tensor, sizes: Sequence[Size]) -> list[torch.Tensor]:
    """[B, sum(h*w), C] tokens of several maps -> one [B, C, h, w] map per size."""
    batch, _, dim = tokens.shape
    parts = tokens.split([h * w for h, w in sizes], dim=1)
    return [
        p.transpose(1, 2).reshape(batch, dim, h, w) for p, (h, w) in zip(parts, sizes, strict=True)
    ]


def _conv_bn_relu(cin: int, cout: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class SpatialPriorModule(nn.Module):
    """Image -> the stride-4 map [B, C, H/4, W/4] and the stride 8/16/32 tokens [B, h*w, C].

    A ResNet-like stem (three 3x3 convs, the first with stride 2, then a stride-2 max pool),
    three stride-2 convs, and a 1x1 projection of each level to the ViT's width `embed_dim`.
    """

    def __init__(self, inplanes: int, embed_dim: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            *_conv_bn_relu(3, inplanes, 2),
            *_conv_bn_relu(inplanes, inplanes, 1),
            *_conv_bn_relu(inplanes, inplanes, 1),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.conv2 = nn.Sequential(*_conv_bn_relu(inplanes, 2 * inplanes, 2))
        self.conv3 = nn.Sequential(*_conv_bn_relu(2 * inplanes, 4 * inplanes, 2))
        self.conv4 = nn.Sequential(*_conv_bn_relu(4 * inplanes, 4 * inplanes, 2))
        self.fc1 = nn.Conv2d(inplanes, embed_dim, kernel_size=1)
        self.fc2 = nn.Conv2d(2 * inplanes, embed_dim, kernel_size=1)
        self.fc3 = nn.Conv2d(4 * inplanes, embed_dim, kernel_size=1)
        self.fc4 = nn.Conv2d(4 * inplanes, embed_dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        c1 = self.stem(x)
        c2 = self.conv2(c1)
        c3 = self.conv3(c2)
        c4 = self.conv4(c3)
        levels = [self.fc2(c2), self.fc3(c3), self.fc4(c4)]
        return self.fc1(c1), [level.flatten(2).transpose(1, 2) for level in levels]


class LevelDepthwiseConv(nn.Module):
    """One depthwise 3x3 conv run over each token map separately (no mixing across levels)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)

    def forward(self, tokens: torch.Tensor, sizes: Sequence[Size]) -> torch.Tensor:
        maps = [self.dwconv(m).flatten(2).transpose(1, 2) for m in tokens_to_maps(tokens, sizes)]
        return torch.cat(maps, dim=1)


class ConvFFN(nn.Module):
    """fc1 -> per-level depthwise conv -> exact GELU -> fc2."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = LevelDepthwiseConv(hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, sizes: Sequence[Size]) -> torch.Tensor:
        return self.fc2(self.act(self.dwconv(self.fc1(x), sizes)))


class Extractor(nn.Module):
    """Adapter tokens read the ViT's patch tokens: `q + attn(norm(q), norm(feat))`, then
    `q + ffn(norm(q))`.

    `with_cp` recomputes the block in the backward pass instead of keeping its activations
    (the authors' WITH_CP, on in their configs); it changes memory, not results.
    """

    def __init__(
        self, dim: int, num_heads: int, n_points: int, cffn_ratio: float, with_cp: bool
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.query_norm = nn.LayerNorm(dim, eps=ADAPTER_NORM_EPS)
        self.feat_norm = nn.LayerNorm(dim, eps=ADAPTER_NORM_EPS)
        self.attn = MSDeformAttn(dim, n_levels=1, n_heads=num_heads, n_points=n_points)
        self.ffn = ConvFFN(dim, int(dim * cffn_ratio))
        self.ffn_norm = nn.LayerNorm(dim, eps=ADAPTER_NORM_EPS)

    def forward(
        self, query: torch.Tensor, feat: torch.Tensor, inputs: ExtractorInputs
    ) -> torch.Tensor:
        if self.with_cp and self.training and query.requires_grad:
            return checkpoint(self._extract, query, feat, inputs, use_reentrant=False)
        return self._extract(query, feat, inputs)

    def _extract(
        self, query: torch.Tensor, feat: torch.Tensor, inputs: ExtractorInputs
    ) -> torch.Tensor:
        attn = self.attn(
            self.query_norm(query),
            inputs.reference_points,
            self.feat_norm(feat),
            inputs.spatial_shapes,
            inputs.level_start_index,
        )
        query = query + attn
        return query + self.ffn(self.ffn_norm(query), inputs.token_sizes)
