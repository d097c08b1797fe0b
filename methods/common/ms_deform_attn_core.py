"""The sampling core of multi-scale deformable attention, behind one swappable function.

`ms_deform_attn_core` is what every model calls. By default it dispatches to the compiled
kernels of `vis_bench.cuda_ops.ms_deform_attn` (C++ on CPU, CUDA on GPU, built on first use; that op
falls back to the same pure-PyTorch reference with one warning when no compiler is available,
or when VIS_BENCH_NO_EXT=1). `set_ms_deform_attn_core` installs another implementation with the
same signature (None: the pure-PyTorch reference), so no model changes for a kernel. Both
built-in cores count the same FLOPs and record which of them ran
(`vis_bench.cuda_ops.ms_deform_attn.core_usage`); a core installed from elsewhere does neither.

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
from typing import Any

import torch

from vis_bench.cuda_ops.ms_deform_attn import (
    core_usage,
    ms_deform_attn,
    ms_deform_attn_pytorch,
    reset_core_usage,
)

CoreFn = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor
]

#: the pure-PyTorch reference (grid_sample, zero padding, align_corners=False); it is also the
#: kernels' oracle and fallback, so there is one definition of the semantics. Wrapped as the op
#: `vis_bench_ops::ms_deform_attn_pytorch`, so FLOPs are counted with the compiled op's formula
#: and its calls are recorded as the "reference" core (see `vis_bench.cuda_ops.ms_deform_attn`)
ms_deform_attn_core_pytorch: CoreFn = ms_deform_attn_pytorch
#: the `vis_bench_ops::ms_deform_attn` custom op (compiled on its first call, not at import)
ms_deform_attn_core_compiled: CoreFn = ms_deform_attn

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


class RecordsDeformAttnCore:
    """Plugin mixin for a model that runs deformable attention: its records name the core(s)
    that actually ran (`execution.deform_attn_core`), so a silent fallback to the reference
    shows; a method without deformable attention records nothing about it."""

    def reset_execution_info(self) -> None:
        reset_core_usage()
        reset = getattr(super(), "reset_execution_info", None)
        if reset is not None:
            reset()

    def execution_info(self) -> dict[str, Any]:
        base = getattr(super(), "execution_info", None)
        info = dict(base()) if base is not None else {}
        info["deform_attn_core"] = sorted(core_usage()) or None
        return info
