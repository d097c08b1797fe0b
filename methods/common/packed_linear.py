"""A linear layer whose weight MKL packs once, not on every call (part of `lean_linear`).

On CPU PyTorch runs `F.linear` as MKL's sgemm, which copies the weight into its own blocked
layout on every call before multiplying (the `sgemm_scopy_*` routines: about a tenth of a
VidEoMT ViT-S pass's CPU time in benchmarks/results/side_by_side_profile.json). MKL can keep that
layout instead (`cblas_sgemm_pack`), which PyTorch exposes as `mkl::_mkl_reorder_linear_weight`
and `mkl::_mkl_linear` (what its CPU compiler emits for a frozen linear). The packed weight is
cached on the layer until the weight changes (a checkpoint is loaded), for the row count it
was packed for; another row count packs again. The product is MKL's same kernel on the same
data: the outputs equal `F.linear`'s (tests/test_packed_linear.py).

Packed are only the layers that widen their input (a ViT's qkv and first MLP layer): at
VidEoMT ViT-S's shapes packing sped those up and left the narrowing ones (proj, the second MLP
layer) as they were. The packed copy costs as much memory as the weight. Elsewhere (not CPU float32, no MKL, meta tensors, autocast) it is
`F.linear`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.api.measurements import register_flop_formula
from vis_bench.methods.common.fast_paths import cached_derived

_MKL = getattr(torch.ops, "mkl", None)
_LINEAR = getattr(_MKL, "_mkl_linear", None)
_PACK = getattr(_MKL, "_mkl_reorder_linear_weight", None)
#: the cache attribute on the layer: (rows packed for, packed weight)
_CACHE = "_mkl_packed_weight"


def _linear_macs(x, packed, weight, *args, out_shape=None, **kwargs) -> int:
    return math.prod(out_shape) * weight[1]


if _LINEAR is not None:
    register_flop_formula(_LINEAR, _linear_macs)


def packing_helps(layer: nn.Linear) -> bool:
    """Whether `packed_linear` packs this layer: one that widens its input."""
    return layer.out_features > layer.in_features


def _usable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (
        _LINEAR is not None
        and _PACK is not None
        and not torch.compiler.is_compiling()  # the op has no fake-tensor kernel to trace
        and torch.backends.mkl.is_available()
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and x.dim() >= 2
        and not torch.is_autocast_enabled("cpu")
    )


def packed_linear(x: torch.Tensor, layer: nn.Linear, lean: bool = True) -> torch.Tensor:
    """`layer(x)` with the layer's weight packed once for MKL (see the module docstring);
    `lean` False (the `lean_linear` path off): the layer as it is."""
    if not lean:
        return layer(x)
    weight = layer.weight
    if not (packing_helps(layer) and _usable(x, weight)):
        return F.linear(x, weight, layer.bias)
    rows = x.numel() // x.shape[-1]
    cached = cached_derived(layer, _CACHE, (weight,), lambda: (rows, _PACK(weight, rows)))
    if cached[0] != rows:
        layer.__dict__.pop(_CACHE)
        cached = cached_derived(layer, _CACHE, (weight,), lambda: (rows, _PACK(weight, rows)))
    return _LINEAR(x, cached[1], weight, layer.bias, rows)
