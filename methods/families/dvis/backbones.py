"""The backbones DVIS++'s segmenter runs on, by the names the methods' `backbone` option uses.

The released models use detectron2's ResNet-50 (`build_resnet_backbone`), DINOv2 ViT-L with a
ViT-Adapter (`D2VitAdapterDinoV2`, the shared `vit_adapter_l` of methods/common) or, for
DVIS-DAQ's Swin-L releases, Mask2Former's `D2SwinTransformer` (the Mask2Former family's); the
project's tiny models a small ResNet. An entry says how to build the module (named as under the
checkpoints' `backbone.`) and the channels of the res2..res5 maps it hands the pixel decoder. A
backbone added here is a backbone of both DVIS++ methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from torch import nn

from vis_bench.api.registration import Registry
from vis_bench.methods.common.backbone_registry import build_feature_backbone, feature_channels
from vis_bench.methods.common.detectron2_resnet import ResNetD2
from vis_bench.methods.common.tiny_backbone import DEFAULT_WIDTH, TinyResNet
from vis_bench.methods.families.mask2former.model import SWIN_L, SwinD2


@dataclass(frozen=True)
class SegmenterBackbone:
    """One backbone: its builder, the channels of res2..res5 and what the authors build."""

    build: Callable[[], nn.Module]
    channels: Mapping[str, int]
    source: str = ""
    #: a backbone of a released model (`keys --backbone`); the project's own are not
    released: bool = True


SEGMENTER_BACKBONES: Registry[SegmenterBackbone] = Registry(
    "DVIS++ segmenter backbone", base=SegmenterBackbone, instance=True
)
SEGMENTER_BACKBONES.register(
    "resnet50",
    SegmenterBackbone(
        lambda: ResNetD2(50, stride_in_1x1=False),
        dict(ResNetD2.channels),
        "detectron2 build_resnet_backbone, depth 50, STRIDE_IN_1X1 False, FrozenBN",
    ),
)
SEGMENTER_BACKBONES.register(
    "vit_l",
    SegmenterBackbone(
        lambda: build_feature_backbone("vit_adapter_l"),
        feature_channels("vit_adapter_l"),
        "D2VitAdapterDinoV2: DINOv2 ViT-L (frozen, FREEZE_VIT) with the ViT-Adapter",
    ),
)
SEGMENTER_BACKBONES.register(
    "swin_l",
    SegmenterBackbone(
        lambda: SwinD2(**SWIN_L),
        {f"res{i + 2}": SWIN_L["embed_dim"] * 2**i for i in range(4)},
        "D2SwinTransformer: Swin-L, window 12, 384 pretraining size (DVIS-DAQ's Swin-L models)",
    ),
)
SEGMENTER_BACKBONES.register(
    "tiny",
    SegmenterBackbone(
        lambda: TinyResNet(with_res2=True),
        {f"res{i + 2}": DEFAULT_WIDTH * 2**i for i in range(4)},
        "the project's tiny ResNet (methods/common/tiny_backbone.py)",
        released=False,
    ),
)
