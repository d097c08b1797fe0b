"""Multi-scale deformable attention as a compiled custom op (`vis_bench_ops::ms_deform_attn`).

`ms_deform_attn(value, spatial_shapes, level_start_index, sampling_locations, attention_weights)`
has the Deformable-DETR core signature and dispatches to the C++ (CPU) or CUDA kernel, built on
first use, or to the pure-PyTorch reference with one warning when the build is impossible.
`ms_deform_attn_pytorch` is that reference as an op of its own (same FLOP count), and
`reset_core_usage()` / `core_usage()` tell which core ran how many times.
"""

from vis_bench.cuda_ops.ms_deform_attn.op import flops, ms_deform_attn, ms_deform_attn_pytorch
from vis_bench.cuda_ops.ms_deform_attn.reference import (
    ms_deform_attn_reference,
    ms_deform_attn_reference_backward,
)
from vis_bench.cuda_ops.ms_deform_attn.usage import CORES, core_usage, reset_core_usage


def fast_kernel_available(device_type: str = "cpu") -> bool:
    """Whether the compiled kernel for `device_type` builds/loads here (builds it if needed)."""
    from vis_bench.cuda_ops.ms_deform_attn import _build

    return _build.kernels(device_type) is not None


__all__ = [
    "CORES",
    "core_usage",
    "fast_kernel_available",
    "flops",
    "ms_deform_attn",
    "ms_deform_attn_pytorch",
    "ms_deform_attn_reference",
    "ms_deform_attn_reference_backward",
    "reset_core_usage",
]
