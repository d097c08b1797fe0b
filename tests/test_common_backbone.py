"""ResNet body: torchvision key names, frozen BN semantics, output strides."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vis_bench.methods.common.backbone import Backbone, FrozenBatchNorm2d, ResNet

pytestmark = pytest.mark.usefixtures("one_thread")


def _meta_resnet(depth: int) -> ResNet:
    with torch.device("meta"):
        return ResNet(depth)


def test_resnet50_key_names_match_torchvision_layout():
    keys = list(_meta_resnet(50).state_dict())
    # 265 entries, as the authors' checkpoints hold under detr.backbone.0.body
    assert len(keys) == 265
    assert keys[:5] == [
        "conv1.weight",
        "bn1.weight",
        "bn1.bias",
        "bn1.running_mean",
        "bn1.running_var",
    ]
    for key in (
        "layer1.0.downsample.0.weight",
        "layer1.0.downsample.1.running_var",
        "layer2.0.conv2.weight",
        "layer3.5.bn3.bias",
        "layer4.2.conv3.weight",
    ):
        assert key in keys
    assert not any("num_batches_tracked" in k for k in keys)
    assert not any(k.startswith(("fc.", "avgpool")) for k in keys)
    assert "layer3.6.conv1.weight" not in keys  # R50 has 6 blocks in layer3


def test_resnet101_has_23_blocks_in_layer3():
    keys = _meta_resnet(101).state_dict()
    assert "layer3.22.bn3.running_mean" in keys
    assert "layer3.23.conv1.weight" not in keys


def test_stride_sits_on_the_3x3_conv():
    net = _meta_resnet(50)
    assert net.layer2[0].conv1.stride == (1, 1)
    assert net.layer2[0].conv2.stride == (2, 2)
    assert net.layer2[0].downsample[0].stride == (2, 2)
    assert tuple(net.layer4[0].conv3.weight.shape) == (2048, 512, 1, 1)


def test_frozen_bn_equals_eval_batchnorm_and_ignores_num_batches_tracked():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(6).eval()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2)
    frozen = FrozenBatchNorm2d(6)
    frozen.load_state_dict(bn.state_dict())  # carries num_batches_tracked
    x = torch.randn(2, 6, 5, 7)
    torch.testing.assert_close(frozen(x), bn(x), atol=1e-6, rtol=1e-5)
    assert sum(p.numel() for p in frozen.parameters()) == 0


def test_backbone_returns_strides_8_16_32_and_masks():
    torch.manual_seed(0)
    backbone = Backbone(50).eval()
    images = torch.randn(1, 3, 64, 96)
    mask = torch.zeros(1, 64, 96, dtype=torch.bool)
    mask[:, :, 80:] = True
    with torch.no_grad():
        feats, masks = backbone(images, mask)
    assert [tuple(f.shape) for f in feats.values()] == [
        (1, 512, 8, 12),
        (1, 1024, 4, 6),
        (1, 2048, 2, 3),
    ]
    assert masks["res3"][0, 0].tolist() == [False] * 10 + [True] * 2
