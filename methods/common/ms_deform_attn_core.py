"""The sampling core of multi-scale deformable attention, behind one swappable function.

`ms_deform_attn_core` is what every model calls. By default it dispatches to the compiled
kernels of `cuda_ops.ms_deform_attn` (C++ on CPU, CUDA on GPU, built on first use; that op
falls back to the same pure-PyTorch reference with one warning when no compiler is available,
or when VIS_BENCH_NO_EXT=1). `set_ms_deform_attn_core` installs another implementation with the
same signature (None: the pure-PyTorch reference below), so no model changes for a kernel.

Shapes (N batch, S = sum of h_l * w_l tokens, M heads, D channels per head, Lq queries,
L levels, P points):
    value               [N, S, M, D]
    spatial_shapes      [L, 2] int64, (h_l, w_l)
    level_start_index   [L] int64, offset of each level's first token in S
    sampling_locations  [N, Lq, M, L, P, 2] in [0, 1] of each level, (x, y)
    attention_weights   [N, Lq, M, L, P]
    output              [N, Lq, M * D]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

CoreFn = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor
]


def ms_deform_attn_core_pytorch(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """Reference core: bilinear sampling per level with `grid_sample`, then the weighted sum.

    Sampling follows `grid_sample(align_corners=False, padding_mode="zeros")`: location x maps to
    pixel coordinate x * w - 0.5 and points outside the map read zeros.
    """
    n, _, m, d = value.shape
    _, lq, _, num_levels, num_points, _ = sampling_locations.shape
    shapes = [(int(h), int(w)) for h, w in spatial_shapes.tolist()]
    starts = [int(s) for s in level_start_index.tolist()]
    grids = 2 * sampling_locations - 1  # grid_sample wants [-1, 1]
    sampled = []
    for lvl, ((h, w), start) in enumerate(zip(shapes, starts, strict=True)):
        # [N, h*w, M, D] -> [N*M, D, h, w]
        value_l = value[:, start : start + h * w].permute(0, 2, 3, 1).reshape(n * m, d, h, w)
        # [N, Lq, M, P, 2] -> [N*M, Lq, P, 2]
        grid_l = grids[:, :, :, lvl].transpose(1, 2).flatten(0, 1)
        sampled.append(
            F.grid_sample(
                value_l, grid_l, mode="bilinear", padding_mode="zeros", align_corners=False
            )
        )  # [N*M, D, Lq, P]
    # [N*M, D, Lq, L*P] * [N*M, 1, Lq, L*P] -> [N*M, D, Lq]
    stacked = torch.stack(sampled, dim=-2).flatten(-2)
    weights = attention_weights.transpose(1, 2).reshape(n * m, 1, lq, num_levels * num_points)
    output = (stacked * weights).sum(-1).view(n, m * d, lq)
    return output.transpose(1, 2).contiguous()  # [N, Lq, M*D]


def ms_deform_attn_core_compiled(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """The `vis_bench_ops::ms_deform_attn` custom op (imported on first use, not at import)."""
    from cuda_ops.ms_deform_attn import ms_deform_attn

    return ms_deform_attn(
        value, spatial_shapes, level_start_index, sampling_locations, attention_weights
    )


_core: CoreFn = ms_deform_attn_core_compiled


def ms_deform_attn_core(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """Deformable-attention sampling with the currently installed implementation."""
    return _core(value, spatial_shapes, level_start_index, sampling_locations, attention_weights)


def get_ms_deform_attn_core() -> CoreFn:
    """The implementation `ms_deform_attn_core` dispatches to now."""
    return _core


def set_ms_deform_attn_core(fn: CoreFn | None) -> CoreFn:
    """Install `fn` (same signature) as the core; None restores the PyTorch reference.

    Returns the previous implementation so callers can put it back.
    """
    global _core
    previous = _core
    _core = ms_deform_attn_core_pytorch if fn is None else fn
    return previous


@contextlib.contextmanager
def use_ms_deform_attn_core(fn: CoreFn | None) -> Iterator[None]:
    """Run a block with `fn` as the core (e.g. to compare a kernel with the reference)."""
    previous = set_ms_deform_attn_core(fn)
    try:
        yield
    finally:
        set_ms_deform_attn_core(previous)
