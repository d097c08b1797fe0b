"""Inputs and oracles shared by the deformable-attention kernel tests."""

from __future__ import annotations

import math
import shutil
import warnings

import pytest
import torch

from vis_bench.cuda_ops.ms_deform_attn import _build, fast_kernel_available


def make_inputs(
    B: int = 2,
    M: int = 2,
    D: int = 4,
    shapes: tuple[tuple[int, int], ...] = ((5, 7), (3, 4)),
    Q: int = 6,
    P: int = 3,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    spread: float = 0.3,
    seed: int = 0,
) -> tuple[torch.Tensor, ...]:
    """Random inputs; `spread` pushes locations that far outside [0, 1] on both sides."""
    gen = torch.Generator().manual_seed(seed)
    spatial_shapes = torch.tensor(shapes, dtype=torch.long)
    sizes = spatial_shapes.prod(1)
    starts = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)[:-1]])
    S, L = int(sizes.sum()), len(shapes)
    value = torch.randn(B, S, M, D, generator=gen, dtype=dtype)
    loc = torch.rand(B, Q, M, L, P, 2, generator=gen, dtype=dtype) * (1 + 2 * spread) - spread
    weights = torch.rand(B, Q, M, L, P, generator=gen, dtype=dtype).softmax(-1)
    return tuple(t.to(device) for t in (value, spatial_shapes, starts, loc, weights))


def naive_ms_deform_attn(value, spatial_shapes, level_start_index, loc, weights) -> torch.Tensor:
    """The definition, one point at a time: bilinear with zero padding, pixel = loc*size - 0.5."""
    B, _, M, D = value.shape
    _, Q, _, L, P, _ = loc.shape
    out = torch.zeros(B, Q, M, D, dtype=torch.float64)
    v64 = value.double()
    for b in range(B):
        for q in range(Q):
            for m in range(M):
                for lvl in range(L):
                    H, W = (int(s) for s in spatial_shapes[lvl])
                    start = int(level_start_index[lvl])
                    for p in range(P):
                        x = float(loc[b, q, m, lvl, p, 0]) * W - 0.5
                        y = float(loc[b, q, m, lvl, p, 1]) * H - 0.5
                        x0, y0 = math.floor(x), math.floor(y)
                        for yy, xx in ((y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)):
                            if 0 <= yy < H and 0 <= xx < W:
                                bil = (1 - abs(x - xx)) * (1 - abs(y - yy))
                                a = float(weights[b, q, m, lvl, p])
                                out[b, q, m] += a * bil * v64[b, start + yy * W + xx, m]
    return out.view(B, Q, M * D)


def grads(fn, inputs, grad_out) -> tuple[torch.Tensor, ...]:
    """(output, grad value, grad sampling_locations, grad attention_weights) of `fn`."""
    value, shapes, starts, loc, weights = (
        t.detach().requires_grad_(t.is_floating_point()) for t in inputs
    )
    out = fn(value, shapes, starts, loc, weights)
    return (out.detach(), *torch.autograd.grad(out, (value, loc, weights), grad_out))


def require_cpu_kernel() -> None:
    """Build the CPU extension; skip without a C++ compiler, fail when a present one fails."""
    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler")
    _build.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback warning here means the build broke
        assert fast_kernel_available("cpu")
