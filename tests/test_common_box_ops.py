from __future__ import annotations

import torch

from vis_bench.methods.common.box_ops import (
    box_cxcywh_to_xyxy,
    box_iou,
    box_xyxy_to_cxcywh,
    inverse_sigmoid,
)
from vis_bench.methods.common.mlp import MLP


def test_box_conversions_round_trip():
    boxes = torch.tensor([[0.5, 0.5, 0.2, 0.4], [0.1, 0.9, 0.2, 0.1]])
    xyxy = box_cxcywh_to_xyxy(boxes)
    torch.testing.assert_close(xyxy[0], torch.tensor([0.4, 0.3, 0.6, 0.7]))
    torch.testing.assert_close(box_xyxy_to_cxcywh(xyxy), boxes)


def test_box_iou():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1 / 7, 1.0]]))


def test_inverse_sigmoid_is_finite_at_the_ends():
    x = torch.tensor([0.0, 0.25, 1.0, 1.5])
    y = inverse_sigmoid(x)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y[1].sigmoid(), torch.tensor(0.25))
    assert y[2] == y[3]  # clamped to 1


def test_mlp_key_names_and_relu_between_layers():
    mlp = MLP(4, 8, 2, 3)
    assert list(mlp.state_dict()) == [
        f"layers.{i}.{p}" for i in range(3) for p in ("weight", "bias")
    ]
    with torch.no_grad():
        for layer in mlp.layers:
            layer.weight.fill_(-1.0)
            layer.bias.zero_()
    # first layer output is negative, ReLU zeroes it, so the output is the (zero) bias
    assert torch.equal(mlp(torch.ones(1, 4)), torch.zeros(1, 2))
