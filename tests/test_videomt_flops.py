"""What vis-bench counts for VidEoMT: the attention matrix products are in the count (the
authors' fvcore script misses them unless TIMM_FUSED_ATTN=0 is exported before Python starts;
docs/methods/videomt.md, FLOPs)."""

from __future__ import annotations

import torch

from vis_bench.api.flops import count_flops
from vis_bench.api.registration import get_method

SMALL = {
    "backbone": "vit_s",
    "embed_dim": 48,
    "depth": 4,
    "num_heads": 3,
    "query_blocks": [2, 3],
    "num_queries": 7,
    "num_classes": 5,
    "img_size": 64,
}


def attention_products(embed_dim: int, depth: int, query_blocks: int, tokens: int, queries: int):
    """q k^T and attention x v of every block, in multiply-adds: 2 C N^2 per block, N counting
    the queries in the query blocks."""
    plain = depth - query_blocks
    return 2 * embed_dim * (plain * tokens**2 + query_blocks * (tokens + queries) ** 2)


def test_the_count_holds_the_attention_products_and_the_mask_product():
    with torch.device("meta"):
        plugin = get_method("videomt").build(SMALL)
    frames = torch.zeros(1, 3, 96, 160, device="meta")
    for param in plugin.model.parameters():
        param.requires_grad_(False)
    report = count_flops(plugin.model, (frames,))
    grid = (96 // 16) * (160 // 16)
    tokens = 1 + 4 + grid  # cls, registers, patches
    attention = attention_products(48, 4, 2, tokens, 7)
    mask_product = 7 * 48 * (96 // 4) * (160 // 4)  # queries x channels x stride-4 pixels
    assert report.by_op["aten.bmm"] == attention + mask_product
