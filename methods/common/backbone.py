"""ResNet-50/101 and ResNeXt-101 with frozen BatchNorm, in torchvision's module layout.

Module names match torchvision's `resnet50()` (conv1, bn1, layer1..4; Bottleneck conv1/bn1/conv2/
bn2/conv3/bn3/downsample.0/.1; stride on the 3x3 conv, "v1.5"), so torchvision ImageNet weights and
the authors' checkpoints (which wrap it as `backbone.0.body.*`) load without a key map. ResNeXt is
the same tree with a grouped 3x3 conv of width `int(planes * width_per_group / 64) * groups`
(torchvision's formula; SeqFormer's `models/x101_64d.py` only sets groups 64, width 4 on it).
torchvision itself is not a dependency.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.fast_paths import FastPaths, active_paths
from vis_bench.methods.common.fused_ops import conv_bn, to_channels_last
from vis_bench.methods.common.position_encoding import PositionEmbeddingSine

# Bottleneck blocks per stage
RESNET_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm2d whose statistics and affine parameters are fixed buffers.

    Same buffers as torchvision's (weight, bias, running_mean, running_var; eps 1e-5) but no
    `num_batches_tracked`; a checkpoint that carries one (plain BatchNorm) still loads.
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        bias = self.bias - self.running_mean * scale
        return x * scale[None, :, None, None] + bias[None, :, None, None]


def projection_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """A residual block's `downsample` (1x1 conv + frozen BN) where its input and output
    shapes differ; None where the identity is the shortcut."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
        FrozenBatchNorm2d(out_channels),
    )


def shortcut(x: torch.Tensor, downsample: nn.Module | None, paths: FastPaths) -> torch.Tensor:
    """The residual branch's input: x itself, or x through the block's `downsample`."""
    if downsample is None:
        return x
    return conv_bn(x, downsample[0], downsample[1], paths)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (carries the stride; grouped for ResNeXt) -> 1x1 (4 x planes channels),
    identity or projected shortcut."""

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        groups: int = 1,
        width_per_group: int = 64,
    ) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        width = int(planes * width_per_group / 64) * groups
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = FrozenBatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = FrozenBatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = FrozenBatchNorm2d(out_channels)
        self.downsample = projection_shortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # one path: with every path off, conv_bn is the plain conv, BatchNorm, add and ReLU
        paths = active_paths(self)
        identity = shortcut(x, self.downsample, paths)
        out = conv_bn(x, self.conv1, self.bn1, paths, relu=True)
        out = conv_bn(out, self.conv2, self.bn2, paths, relu=True)
        return conv_bn(out, self.conv3, self.bn3, paths, relu=True, residual=identity)


class ResNet(nn.Module):
    """The convolutional body of torchvision's ResNet/ResNeXt (no avgpool / fc), returning
    layer2..4.

    Outputs are keyed "res3", "res4", "res5" (strides 8, 16, 32); layer1 runs but is not returned,
    because no method here reads it. `groups`/`width_per_group` make it a ResNeXt (32, 8 for
    torchvision's resnext101_32x8d; 64, 4 for SeqFormer's resnext101_64x4d).
    """

    def __init__(self, depth: int = 50, groups: int = 1, width_per_group: int = 64) -> None:
        super().__init__()
        if depth not in RESNET_DEPTHS:
            raise ValueError(
                f"unsupported ResNet depth {depth}; choose one of {sorted(RESNET_DEPTHS)}"
            )
        self.depth = depth
        self.groups = groups
        self.width_per_group = width_per_group
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = FrozenBatchNorm2d(64)
        in_channels = 64
        for index, (blocks, planes) in enumerate(
            zip(RESNET_DEPTHS[depth], (64, 128, 256, 512), strict=True)
        ):
            stride = 1 if index == 0 else 2
            layer = []
            for b in range(blocks):
                block_stride = stride if b == 0 else 1
                layer.append(Bottleneck(in_channels, planes, block_stride, groups, width_per_group))
                in_channels = planes * Bottleneck.expansion
            self.add_module(f"layer{index + 1}", nn.Sequential(*layer))
        self.num_channels = [512, 1024, 2048]
        self.strides = [8, 16, 32]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        paths = active_paths(self)
        x = to_channels_last(x, paths)
        x = conv_bn(x, self.conv1, self.bn1, paths, relu=True)
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)  # [N, 64, H/4, W/4]
        x = self.layer1(x)
        res3 = self.layer2(x)  # [N, 512, H/8, W/8]
        res4 = self.layer3(res3)  # [N, 1024, H/16, W/16]
        res5 = self.layer4(res4)  # [N, 2048, H/32, W/32]
        return {"res3": res3, "res4": res4, "res5": res5}


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Padding mask [N, H, W] -> [N, h, w] by nearest-neighbour resizing (as DETR does)."""
    return F.interpolate(mask[None].float(), size=size)[0].to(torch.bool)


class Backbone(nn.Module):
    """A backbone body (`.body`) plus the per-level padding masks DETR-style models use.

    `body` replaces the ResNet with another module declaring `num_channels` and `strides` of
    its outputs (the tiny models' `TinyResNet`, the Swin Transformer). `return_layers` maps the
    body's output names to the levels the model reads ({"1": "res3", ...} for Swin, whose first
    output is computed but unused, as in the releases); None keeps every output as it is.
    """

    def __init__(
        self,
        depth: int = 50,
        body: nn.Module | None = None,
        return_layers: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.body = ResNet(depth) if body is None else body
        self.return_layers = dict(return_layers) if return_layers else None
        channels, strides = list(self.body.num_channels), list(self.body.strides)
        if self.return_layers is not None:
            picked = [int(name) for name in self.return_layers]
            channels = [channels[i] for i in picked]
            strides = [strides[i] for i in picked]
        self.num_channels = channels
        self.strides = strides

    def forward(
        self, images: torch.Tensor, mask: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """images [N, 3, H, W], mask [N, H, W] -> (features by level, masks by level)."""
        features = self.body(images)
        if self.return_layers is not None:
            features = {level: features[name] for name, level in self.return_layers.items()}
        masks = {name: resize_mask(mask, f.shape[-2:]) for name, f in features.items()}
        return features, masks


class Joiner(nn.Sequential):
    """`[backbone, position_embedding]` as one Sequential, so keys read `backbone.0.body.*`."""

    def __init__(self, backbone: Backbone, position_embedding: PositionEmbeddingSine) -> None:
        super().__init__(backbone, position_embedding)
        self.num_channels = backbone.num_channels
        self.strides = backbone.strides

    def forward(  # type: ignore[override]
        self, images: torch.Tensor, mask: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        return self[0](images, mask)

    def position(self, mask: torch.Tensor) -> torch.Tensor:
        """Position encoding of one level from its padding mask."""
        return self[1](mask)
