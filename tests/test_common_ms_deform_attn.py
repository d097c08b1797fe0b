"""Multi-scale deformable attention: the sampling core against a naive loop, the module, the swap."""

from __future__ import annotations

import math

import pytest
import torch

from vis_bench.methods.common.ms_deform_attn import MSDeformAttn
from vis_bench.methods.common.ms_deform_attn_core import (
    get_ms_deform_attn_core,
    ms_deform_attn_core,
    ms_deform_attn_core_compiled,
    ms_deform_attn_core_pytorch,
    set_ms_deform_attn_core,
    use_ms_deform_attn_core,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def naive_core(value, spatial_shapes, level_start_index, locations, weights):
    """Per-point bilinear sampling: pixel coordinate loc * size - 0.5, zeros outside the map."""
    n, _, m, d = value.shape
    _, lq, _, num_levels, num_points, _ = locations.shape
    out = torch.zeros(n, lq, m, d, dtype=torch.float64)
    for b in range(n):
        for q in range(lq):
            for head in range(m):
                for lvl in range(num_levels):
                    h, w = (int(v) for v in spatial_shapes[lvl])
                    start = int(level_start_index[lvl])
                    for p in range(num_points):
                        x = float(locations[b, q, head, lvl, p, 0]) * w - 0.5
                        y = float(locations[b, q, head, lvl, p, 1]) * h - 0.5
                        x0, y0 = math.floor(x), math.floor(y)
                        sample = torch.zeros(d, dtype=torch.float64)
                        for yi, wy in ((y0, y0 + 1 - y), (y0 + 1, y - y0)):
                            for xi, wx in ((x0, x0 + 1 - x), (x0 + 1, x - x0)):
                                if 0 <= yi < h and 0 <= xi < w:
                                    v = value[b, start + yi * w + xi, head].double()
                                    sample += wy * wx * v
                        out[b, q, head] += float(weights[b, q, head, lvl, p]) * sample
    return out.flatten(2)


def _random_inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    shapes = torch.tensor([[4, 5], [2, 3], [1, 1]])
    starts = torch.cat([shapes.new_zeros(1), shapes.prod(1).cumsum(0)[:-1]])
    n, lq, m, d, p = 2, 3, 2, 4, 3
    s = int(shapes.prod(1).sum())
    value = torch.randn(n, s, m, d, generator=g)
    # spread well beyond [0, 1] so some points fall partly or fully outside the maps
    locations = torch.rand(n, lq, m, len(shapes), p, 2, generator=g) * 1.6 - 0.3
    locations[0, 0, 0, 0, 0] = torch.tensor([-0.5, 0.5])  # fully outside
    locations[0, 0, 0, 0, 1] = torch.tensor([1.0, 1.0])  # corner: a quarter of one pixel
    locations[0, 0, 0, 0, 2] = torch.tensor([0.1, 0.125])  # exactly a pixel centre
    weights = torch.rand(n, lq, m, len(shapes), p, generator=g)
    weights = weights / weights.sum((-1, -2), keepdim=True)
    return value, shapes, starts, locations, weights


def test_core_matches_naive_bilinear_loop():
    args = _random_inputs()
    expected = naive_core(*args)
    got = ms_deform_attn_core_pytorch(*args)
    assert got.shape == (2, 3, 8)
    torch.testing.assert_close(got.double(), expected, atol=1e-5, rtol=0)


@pytest.mark.slow
def test_core_reads_zeros_outside_and_exact_values_at_pixel_centres():
    value, shapes, starts, locations, weights = _random_inputs(1)
    weights.zero_()
    weights[..., 0, 0] = 1.0  # only point 0 of level 0
    locations[..., 0, 0, :] = torch.tensor([1.5, 0.5])  # outside on the right
    assert ms_deform_attn_core(value, shapes, starts, locations, weights).abs().max() == 0
    # centre of pixel (row 2, col 3) of the 4x5 level
    locations[..., 0, 0, :] = torch.tensor([(3 + 0.5) / 5, (2 + 0.5) / 4])
    out = ms_deform_attn_core(value, shapes, starts, locations, weights)
    torch.testing.assert_close(out[0, 0], value[0, 2 * 5 + 3].flatten())


def test_core_is_swappable_through_one_function():
    calls = []

    def fake(value, spatial_shapes, level_start_index, locations, weights):
        calls.append(tuple(value.shape))
        return torch.zeros(value.shape[0], locations.shape[1], value.shape[2] * value.shape[3])

    attn = MSDeformAttn(d_model=16, n_levels=1, n_heads=2, n_points=2)
    query = torch.randn(1, 3, 16)
    src = torch.randn(1, 6, 16)
    ref = torch.rand(1, 3, 1, 2)
    shapes, starts = torch.tensor([[2, 3]]), torch.tensor([0])
    with use_ms_deform_attn_core(fake):
        assert get_ms_deform_attn_core() is fake
        out = attn(query, ref, src, shapes, starts)
    assert calls == [(1, 6, 2, 8)]
    torch.testing.assert_close(out, attn.output_proj.bias.expand(1, 3, 16))
    assert get_ms_deform_attn_core() is ms_deform_attn_core_compiled  # the default
    previous = set_ms_deform_attn_core(None)
    try:
        assert previous is ms_deform_attn_core_compiled
        assert get_ms_deform_attn_core() is ms_deform_attn_core_pytorch
    finally:
        set_ms_deform_attn_core(previous)
    assert get_ms_deform_attn_core() is ms_deform_attn_core_compiled


def test_compiled_default_core_matches_the_reference():
    torch.manual_seed(0)
    attn = MSDeformAttn(d_model=32, n_levels=2, n_heads=4, n_points=3)
    query = torch.randn(2, 5, 32)
    src = torch.randn(2, 6 + 2, 32)
    ref = torch.rand(2, 5, 2, 2)
    shapes, starts = torch.tensor([[2, 3], [1, 2]]), torch.tensor([0, 6])
    fast = attn(query, ref, src, shapes, starts)
    with use_ms_deform_attn_core(None):
        reference = attn(query, ref, src, shapes, starts)
    torch.testing.assert_close(fast, reference, atol=1e-5, rtol=0)


def test_module_parameters_and_reference_initialisation():
    attn = MSDeformAttn(d_model=32, n_levels=2, n_heads=8, n_points=3)
    assert [k for k in attn.state_dict() if k.endswith("weight")] == [
        "sampling_offsets.weight",
        "attention_weights.weight",
        "value_proj.weight",
        "output_proj.weight",
    ]
    assert attn.sampling_offsets.weight.abs().max() == 0
    assert attn.attention_weights.weight.abs().max() == 0
    bias = attn.sampling_offsets.bias.view(8, 2, 3, 2)
    # head 0 looks right, head 2 down (angle pi/2), point p at distance p + 1, same on every level
    torch.testing.assert_close(bias[0, 0], torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]))
    torch.testing.assert_close(bias[2, 1, :, 1], torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(bias[1, 0, 0], torch.tensor([1.0, 1.0]))  # 45 degrees, max-normed
    assert torch.equal(bias[:, 0], bias[:, 1])


@pytest.mark.parametrize("box", [False, True])
def test_zero_offsets_sample_the_reference_pixel(box):
    torch.manual_seed(0)
    attn = MSDeformAttn(d_model=8, n_levels=1, n_heads=1, n_points=2)
    with torch.no_grad():
        attn.sampling_offsets.bias.zero_()
        attn.value_proj.weight.copy_(torch.eye(8))
        attn.output_proj.weight.copy_(torch.eye(8))
    src = torch.randn(1, 12, 8)  # a 3x4 map
    ref = torch.tensor([[(1 + 0.5) / 4, (2 + 0.5) / 3]])  # pixel (row 2, col 1)
    if box:
        ref = torch.cat([ref, torch.tensor([[0.3, 0.3]])], -1)
    out = attn(
        torch.randn(1, 1, 8), ref.view(1, 1, 1, -1), src, torch.tensor([[3, 4]]), torch.tensor([0])
    )
    torch.testing.assert_close(out[0, 0], src[0, 2 * 4 + 1], atol=1e-6, rtol=0)
