"""ResNet in the detectron2 layout IFC checkpoints use (stem.conv1, res2..res5, conv.norm).

Separate from backbone.py (torchvision key names) because detectron2 names differ: every conv
owns its FrozenBN as `.norm`, the projection is `shortcut`. Where the stride of a stage's first
block sits is configuration (`STRIDE_IN_1X1`): False for the torchvision-initialised R-50 (3x3
conv, as torchvision), True for the MSRA-initialised R-101 of IFC's R101_ytvis.yaml (1x1 conv1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common import backbone
from vis_bench.methods.common.fast_paths import active_paths
from vis_bench.methods.common.fused_ops import conv_bn, to_channels_last

# blocks per stage for the supported depths
_STAGE_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class FrozenBatchNorm2d(backbone.FrozenBatchNorm2d):
    """The torchvision-named frozen BatchNorm initialised as detectron2's (running_var 1 - eps,
    so a fresh one is the identity)."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__(num_features, eps)
        self.running_var -= eps


class ConvNorm(nn.Conv2d):
    """Bias-free conv followed by its own FrozenBN (`.norm`), detectron2's `Conv2d(norm=...)`."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0):
        super().__init__(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.norm = FrozenBatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(super().forward(x))


class BottleneckBlock(nn.Module):
    def __init__(
        self, cin: int, cout: int, bottleneck: int, stride: int, stride_in_1x1: bool
    ) -> None:
        super().__init__()
        # registered before conv1 so the state-dict order equals detectron2's
        self.shortcut = ConvNorm(cin, cout, 1, stride=stride) if cin != cout else None
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = ConvNorm(cin, bottleneck, 1, stride=s1)
        self.conv2 = ConvNorm(bottleneck, bottleneck, 3, stride=s3, padding=1)
        self.conv3 = ConvNorm(bottleneck, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # one path: with every path off, conv_bn is the plain conv, norm, add and ReLU
        paths = active_paths(self)
        identity = x
        if self.shortcut is not None:
            identity = conv_bn(x, self.shortcut, self.shortcut.norm, paths)
        out = conv_bn(x, self.conv1, self.conv1.norm, paths, relu=True)
        out = conv_bn(out, self.conv2, self.conv2.norm, paths, relu=True)
        return conv_bn(out, self.conv3, self.conv3.norm, paths, relu=True, residual=identity)


class BasicStem(nn.Module):
    def __init__(self, cin: int = 3, cout: int = 64) -> None:
        super().__init__()
        self.conv1 = ConvNorm(cin, cout, 7, stride=2, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = conv_bn(x, self.conv1, self.conv1.norm, active_paths(self), relu=True)
        return F.max_pool2d(x, kernel_size=3, stride=2, padding=1)


class ResNetD2(nn.Module):
    """Output dict res2..res5 (strides 4, 8, 16, 32; channels 256, 512, 1024, 2048)."""

    strides = {"res2": 4, "res3": 8, "res4": 16, "res5": 32}
    channels = {"res2": 256, "res3": 512, "res4": 1024, "res5": 2048}

    def __init__(self, depth: int = 50, stride_in_1x1: bool = False) -> None:
        super().__init__()
        if depth not in _STAGE_BLOCKS:
            raise ValueError(f"ResNet depth {depth} not supported (choose {sorted(_STAGE_BLOCKS)})")
        self.stem = BasicStem()
        cin, bottleneck = 64, 64
        self.stage_names = []
        for i, blocks in enumerate(_STAGE_BLOCKS[depth]):
            name = f"res{i + 2}"
            cout = bottleneck * 4
            stage = nn.Sequential(
                *[
                    BottleneckBlock(
                        cin if b == 0 else cout,
                        cout,
                        bottleneck,
                        stride=(1 if i == 0 or b > 0 else 2),
                        stride_in_1x1=stride_in_1x1,
                    )
                    for b in range(blocks)
                ]
            )
            self.add_module(name, stage)
            self.stage_names.append(name)
            cin, bottleneck = cout, bottleneck * 2

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        x = self.stem(to_channels_last(x, active_paths(self)))
        for name in self.stage_names:
            x = getattr(self, name)(x)
            out[name] = x
        return out
