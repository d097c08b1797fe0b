"""A small ResNet for the project's own tiny models: ResNet-18's layout at a quarter of its width.

The published models start from an ImageNet-pretrained ResNet-50 whose BatchNorm is frozen
while the video model trains. The tiny models follow the same recipe at a size a CPU can train:
this body is pretrained on the synthetic frames (per-pixel categories) with ordinary BatchNorm
(`run_bench.py pretrain`, the stand-in for ImageNet), then frozen into FrozenBatchNorm2d here.
Module names are torchvision's resnet18 names (conv1, bn1, layer1..4, downsample.0/.1); the
outputs are res3, res4, res5 at strides 8, 16, 32 like the ResNet-50 body, so every method's neck
reads it unchanged; `with_res2` adds the stride-4 map too (the Mask2Former family's pixel decoder
reads res2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.backbone import (
    FrozenBatchNorm2d,
    projection_shortcut,
    shortcut,
)
from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.fused_ops import conv_bn, to_channels_last

#: base width -> channels of the four stages are width x (1, 2, 4, 8)
DEFAULT_WIDTH = 32


def stage_channels(width: int = DEFAULT_WIDTH) -> list[int]:
    """Channels of res3, res4, res5 for a base width."""
    return [width * m for m in (2, 4, 8)]


class BasicBlock(nn.Module):
    """3x3 -> 3x3 with a residual; a strided block projects its shortcut with a 1x1 conv."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = FrozenBatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = FrozenBatchNorm2d(channels)
        self.downsample = projection_shortcut(in_channels, channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # one path: with every path off, conv_bn is the plain conv, BatchNorm, add and ReLU
        paths = active_paths(self)
        identity = shortcut(x, self.downsample, paths)
        out = conv_bn(x, self.conv1, self.bn1, paths, relu=True)
        return conv_bn(out, self.conv2, self.bn2, paths, relu=True, residual=identity)


class TinyResNet(nn.Module):
    """Stem (7x7/2 + max-pool/2) and four stages of basic blocks; returns res3, res4, res5."""

    def __init__(
        self,
        width: int = DEFAULT_WIDTH,
        blocks: tuple[int, ...] = (1, 1, 1, 1),
        with_res2: bool = False,
    ) -> None:
        super().__init__()
        self.with_res2 = with_res2
        if len(blocks) != 4 or min(blocks) < 1:
            raise ValueError(f"need four stages of at least one block, got {blocks}")
        widths = [width * m for m in (1, 2, 4, 8)]
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = FrozenBatchNorm2d(width)
        in_channels = width
        for index, (count, channels) in enumerate(zip(blocks, widths, strict=True)):
            stride = 1 if index == 0 else 2
            layer = []
            for b in range(count):
                layer.append(BasicBlock(in_channels, channels, stride if b == 0 else 1))
                in_channels = channels
            self.add_module(f"layer{index + 1}", nn.Sequential(*layer))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        self.num_channels = stage_channels(width)
        self.strides = [8, 16, 32]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        paths = active_paths(self)
        x = to_channels_last(x, paths)
        x = conv_bn(x, self.conv1, self.bn1, paths, relu=True)
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)  # [N, w, H/4, W/4]
        res2 = self.layer1(x)  # [N, w, H/4, W/4]
        res3 = self.layer2(res2)  # [N, 2w, H/8, W/8]
        res4 = self.layer3(res3)  # [N, 4w, H/16, W/16]
        res5 = self.layer4(res4)  # [N, 8w, H/32, W/32]
        out = {"res2": res2} if self.with_res2 else {}
        return {**out, "res3": res3, "res4": res4, "res5": res5}
