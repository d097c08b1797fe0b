"""FLOP counter: hand-computed counts on tiny models, custom-op hook, per-module breakdown."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.api.flops import count_flops, register_flop_formula


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 16)
        self.norm = nn.LayerNorm(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.proj(x))  # [4, 16]
        q = y.view(2, 2, 16)
        attn = torch.bmm(q, q.transpose(1, 2)).softmax(-1)  # 2*2*16*2 = 128 MACs
        return torch.bmm(attn, q) + 1.0  # 2*2*2*16 = 128 MACs; add and softmax not counted


def test_linear_layernorm_attention_by_hand():
    report = count_flops(Tiny(), (torch.randn(4, 8),), modules=["proj", "norm", ""])
    assert report.by_module["proj"] == 4 * 8 * 16  # bias not counted
    assert report.by_module["norm"] == 5 * 4 * 16
    assert report.total == 512 + 320 + 128 + 128
    assert report.by_module[""] == report.total


def test_same_counts_on_meta_tensors():
    with torch.device("meta"):
        model, x = Tiny(), torch.empty(4, 8)
    assert count_flops(model, (x,)).total == 512 + 320 + 256


def test_sdpa_conv_groupnorm_grid_sample():
    q = torch.randn(1, 2, 3, 4)
    k = torch.randn(1, 2, 5, 4)
    assert count_flops(
        nn.Identity(), forward=lambda: F.scaled_dot_product_attention(q, k, k)
    ).total == (2 * 3 * 5 * (4 + 4))
    conv = nn.Conv2d(3, 6, 3, padding=1)
    assert count_flops(conv, (torch.randn(1, 3, 5, 5),)).total == 6 * 3 * 9 * 25
    gn = nn.GroupNorm(2, 4)
    assert count_flops(gn, (torch.randn(2, 4, 3, 3),)).total == 5 * 72
    inp, grid = torch.randn(1, 2, 4, 4), torch.zeros(1, 3, 3, 2)
    total = count_flops(
        nn.Identity(), forward=lambda: F.grid_sample(inp, grid, align_corners=False)
    ).total
    assert total == 4 * 2 * 9


def test_custom_op_registers_its_formula():
    @torch.library.custom_op("vis_bench_test::scale_rows", mutates_args=())
    def scale_rows(x: torch.Tensor) -> torch.Tensor:
        return x * 2

    @scale_rows.register_fake
    def _(x):
        return torch.empty_like(x)

    x = torch.randn(3, 7)
    assert count_flops(nn.Identity(), forward=lambda: scale_rows(x)).total == 0
    register_flop_formula(
        torch.ops.vis_bench_test.scale_rows, lambda shape, out_shape=None: shape[0] * shape[1]
    )
    assert count_flops(nn.Identity(), forward=lambda: scale_rows(x)).total == 21


def test_module_list_breakdown_sums_children():
    from vis_bench.methods.ifc.transformer import IFCEncoder

    enc = IFCEncoder("ifc", 32, 4, 64, 2).eval()
    src, pos, bus = torch.randn(6, 3, 32), torch.randn(6, 3, 32), torch.randn(2, 32)
    report = count_flops(enc, (src, pos, None, bus, bus), modules=["enc_layers", "bus_layers", ""])
    assert report.by_module["enc_layers"] + report.by_module["bus_layers"] == report.total
    d, f = 32, 64

    def layer(n, s):  # ifc_flops.md per-layer formula
        return 4 * n * d * d + 2 * n * s * d + 2 * n * d * f + 2 * 5 * n * d

    assert report.by_module["bus_layers"] == 2 * layer(3 * 2, 3)
    assert report.by_module["enc_layers"] == 2 * layer(3 * (6 + 2), 6 + 2)


def test_breakdown_when_forward_bypasses_the_root_module():
    """Plugins count `infer_clip`-style functions; sub-modules still get their dotted names."""
    from vis_bench.methods.ifc.plugin import IFCPlugin

    plugin = IFCPlugin.build({"hidden_dim": 64, "dim_feedforward": 64, "with_backbone": False})
    net = plugin.model.detr
    feats = {
        "res3": torch.randn(2, 512, 8, 8),
        "res4": torch.randn(2, 1024, 4, 4),
        "res5": torch.randn(2, 2048, 2, 2),
    }
    modules = plugin.flops_modules()
    report = count_flops(plugin.model, (feats,), modules=modules, forward=net.forward_post_backbone)
    assert all(report.by_module[m] > 0 for m in modules)
    assert sum(report.by_module.values()) == report.total
    assert all(p.requires_grad for p in plugin.model.parameters())
