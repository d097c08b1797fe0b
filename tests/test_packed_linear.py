"""The `lean_linear` path's packed linear layer (methods/common/packed_linear.py): MKL's product
with the weight packed once gives `F.linear`'s values, follows a changed weight and another row
count, and leaves the layers it does not pack to `F.linear`."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.packed_linear import packed_linear

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_packed_layer_gives_the_plain_product():
    torch.manual_seed(0)
    layer = nn.Linear(48, 144)
    with torch.inference_mode():
        for rows in (37, 37, 50):  # the second call reuses the packed weight, the third repacks
            x = torch.randn(1, rows, 48)
            torch.testing.assert_close(
                packed_linear(x, layer), F.linear(x, layer.weight, layer.bias)
            )
        layer.load_state_dict({"weight": torch.randn(144, 48), "bias": torch.randn(144)})
        x = torch.randn(50, 48)
        torch.testing.assert_close(packed_linear(x, layer), F.linear(x, layer.weight, layer.bias))


def test_a_narrowing_layer_and_a_half_precision_input_are_not_packed():
    layer = nn.Linear(144, 48)
    packed_linear(torch.randn(5, 144), layer)
    wide = nn.Linear(48, 144).to(torch.bfloat16)
    packed_linear(torch.randn(5, 48, dtype=torch.bfloat16), wide)
    assert "_mkl_packed_weight" not in layer.__dict__ and "_mkl_packed_weight" not in wide.__dict__


def test_the_vit_with_every_fast_path_gives_the_plain_blocks_values():
    """In-place GELU and LayerScale residuals and the packed products: the same tokens."""
    from vis_bench.methods.common.fast_paths import FastPaths, prepare_for_inference
    from vis_bench.methods.common.vit import VisionTransformer, vit_config

    torch.manual_seed(0)
    vit = VisionTransformer(vit_config("vit_s", patch_size=16, depth=2)).eval()
    tokens = torch.randn(1, 70, 384)
    with torch.inference_mode():
        prepare_for_inference(vit, FastPaths.all_off())
        plain = vit.run_blocks(tokens)
        prepare_for_inference(vit, FastPaths.all_on())
        fast = vit.run_blocks(tokens)
        assert "_mkl_packed_weight" in vit.blocks[0].mlp.fc1.__dict__
    torch.testing.assert_close(fast, plain, rtol=0, atol=0)
