"""The public custom ops, their fake impls, autograd and FLOP formula.

`ms_deform_attn(...)` (`vis_bench_ops::ms_deform_attn`), with the Deformable-DETR core
signature, runs the compiled kernel for the tensors' device (built on first use) and otherwise
the pure-PyTorch reference (one warning), so callers never branch. Kernels exist for float32,
float64, float16 and bfloat16 (the half types compute in float32); other dtypes run the
reference. `ms_deform_attn_pytorch(...)` (`vis_bench_ops::ms_deform_attn_pytorch`) always runs
the reference: it is the explicit pure-PyTorch core. Both are registered ops with the same fake
impl and FLOP formula, so meta/fake tensors, FlopCounterMode and torch.compile see one node
and count the same FLOPs whichever core runs, and each call that runs on data is counted under
the core that ran it (`usage.py`).

FLOP convention (FlopCounterMode's, as for matmul: one multiply-add = 2 FLOPs), counting only
work per channel: per output element (B*Q*M*D of them) and sampling point (L*P), the forward
does 4 bilinear MACs + 1 attention-weight MAC = 10 FLOPs; the backward does 4 MACs of corner
dot products with grad_output + 4 MACs scattering into grad_value = 16 FLOPs. Per-point work
(bilinear weights, combining the dot products into location/weight grads) is not counted.
Counted op by op, the reference would give 8 of the 10 (its grid_samples; the weighted sum is
a multiply and a sum, which per-op counters skip as elementwise): the formula counts that sum
as the dot product it is, for both cores, so a model's FLOPs do not depend on the core.
"""

from __future__ import annotations

import torch

from vis_bench.cuda_ops.ms_deform_attn import _build, usage
from vis_bench.cuda_ops.ms_deform_attn.reference import (
    ms_deform_attn_reference,
    ms_deform_attn_reference_backward,
)

OP_NAME = "vis_bench_ops::ms_deform_attn"
REFERENCE_OP_NAME = "vis_bench_ops::ms_deform_attn_pytorch"
FORWARD_FLOPS_PER_POINT = 10
BACKWARD_FLOPS_PER_POINT = 16
KERNEL_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _check_same_device(*tensors: torch.Tensor) -> torch.device:
    device = tensors[0].device
    for t in tensors[1:]:
        if t.device != device:
            raise ValueError(f"ms_deform_attn: all inputs must be on {device}, got {t.device}")
    return device


def _stream_arg(value: torch.Tensor) -> tuple[int, ...]:
    """The CUDA kernels take the current stream as a handle (their source avoids c10/cuda)."""
    if value.device.type == "cuda":
        return (torch.cuda.current_stream(value.device).cuda_stream,)
    return ()


def _kernels_for(value: torch.Tensor):
    """The compiled ops for this input, or None for the reference (no kernel for its dtype)."""
    if value.dtype not in KERNEL_DTYPES:
        _build.warn_once(
            f"dtype-{value.dtype}",
            f"ms_deform_attn: no compiled kernel for {value.dtype}; using the PyTorch reference",
        )
        return None
    return _build.kernels(value.device.type)


def _forward_impl(value, spatial_shapes, level_start_index, sampling_locations, attention_weights):
    _check_same_device(
        value, spatial_shapes, level_start_index, sampling_locations, attention_weights
    )
    kernels = _kernels_for(value)
    args = (value, spatial_shapes, level_start_index, sampling_locations, attention_weights)
    if kernels is None:
        usage.record("reference")
        return ms_deform_attn_reference(*args)
    usage.record(usage.COMPILED_CORE[value.device.type])
    return kernels.forward(*args, *_stream_arg(value))


def _backward_impl(
    grad_output, value, spatial_shapes, level_start_index, sampling_locations, attention_weights
):
    kernels = _kernels_for(value)
    args = (grad_output, value, spatial_shapes, level_start_index, sampling_locations)
    if kernels is None:
        return ms_deform_attn_reference_backward(*args, attention_weights)
    return kernels.backward(*args, attention_weights, *_stream_arg(value))


def _reference_forward_impl(
    value, spatial_shapes, level_start_index, sampling_locations, attention_weights
):
    usage.record("reference")
    return ms_deform_attn_reference(
        value, spatial_shapes, level_start_index, sampling_locations, attention_weights
    )


def _output_elements_and_points(value_shape, loc_shape) -> tuple[int, int]:
    B, _, M, D = value_shape
    Q, L, P = loc_shape[1], loc_shape[3], loc_shape[4]
    return B * Q * M * D, L * P


def _define(name: str, forward_impl, backward_impl) -> tuple[object, object]:
    """Register op `name` and `name`_backward with torch.library: impls, fake impls, FLOPs."""

    @torch.library.custom_op(name, mutates_args=())
    def forward_op(
        value: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        sampling_locations: torch.Tensor,
        attention_weights: torch.Tensor,
    ) -> torch.Tensor:
        return forward_impl(
            value, spatial_shapes, level_start_index, sampling_locations, attention_weights
        )

    @torch.library.custom_op(name + "_backward", mutates_args=())
    def backward_op(
        grad_output: torch.Tensor,
        value: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        sampling_locations: torch.Tensor,
        attention_weights: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return backward_impl(
            grad_output,
            value,
            spatial_shapes,
            level_start_index,
            sampling_locations,
            attention_weights,
        )

    @forward_op.register_fake
    def _(value, spatial_shapes, level_start_index, sampling_locations, attention_weights):
        B, _, M, D = value.shape
        return value.new_empty((B, sampling_locations.shape[1], M * D))

    @backward_op.register_fake
    def _(grad_output, value, spatial_shapes, level_start_index, sampling_locations, weights):
        return (
            torch.empty_like(value, memory_format=torch.contiguous_format),
            torch.empty_like(sampling_locations, memory_format=torch.contiguous_format),
            torch.empty_like(weights, memory_format=torch.contiguous_format),
        )

    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    def backward(ctx, grad_output):
        value, shapes, starts, loc, weights = ctx.saved_tensors
        grad_value, grad_loc, grad_weights = backward_op(
            grad_output.contiguous(), value, shapes, starts, loc, weights
        )
        return grad_value, None, None, grad_loc, grad_weights

    forward_op.register_autograd(backward, setup_context=setup_context)

    _register_flop_formulas(name)
    return forward_op, backward_op


def _register_flop_formulas(name: str) -> None:
    """FLOPs of op `name` and its backward from the shapes alone, for torch's FLOP counter."""
    from torch.utils.flop_counter import register_flop_formula

    namespace, op_name = name.split("::")
    packet = getattr(getattr(torch.ops, namespace), op_name)
    backward_packet = getattr(getattr(torch.ops, namespace), op_name + "_backward")

    @register_flop_formula(packet)
    def _forward_flops(value_shape, shapes_shape, starts_shape, loc_shape, *args, **kwargs) -> int:
        elements, points = _output_elements_and_points(value_shape, loc_shape)
        return FORWARD_FLOPS_PER_POINT * elements * points

    @register_flop_formula(backward_packet)
    def _backward_flops(grad_shape, value_shape, shapes_shape, starts_shape, loc_shape, *a, **k):
        elements, points = _output_elements_and_points(value_shape, loc_shape)
        return BACKWARD_FLOPS_PER_POINT * elements * points


# Registration is cheap (no compilation) and happens once, at import, like any torch.library op:
# doing it lazily inside `ms_deform_attn` would put a lock in the path torch.compile traces.
_FORWARD_OP, _BACKWARD_OP = _define(OP_NAME, _forward_impl, _backward_impl)
_REFERENCE_OP, _REFERENCE_BACKWARD_OP = _define(
    REFERENCE_OP_NAME, _reference_forward_impl, ms_deform_attn_reference_backward
)


def ms_deform_attn(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """Multi-scale deformable attention core: compiled kernel when it builds, else the reference.

    value [B, S, M, D]; spatial_shapes int64 [L, 2] (H, W); level_start_index int64 [L];
    sampling_locations [B, Q, M, L, P, 2] (x, y in [0, 1]); attention_weights [B, Q, M, L, P]
    -> [B, Q, M*D]. Differentiable in value, sampling_locations and attention_weights.
    """
    return _FORWARD_OP(
        value, spatial_shapes, level_start_index, sampling_locations, attention_weights
    )


def ms_deform_attn_pytorch(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """The pure-PyTorch reference as a registered op: the same result as calling
    `ms_deform_attn_reference`, but counted by FlopCounterMode with `ms_deform_attn`'s formula
    (not as the grid_samples inside it) and recorded as the "reference" core. Same shapes and
    gradients as `ms_deform_attn`.
    """
    return _REFERENCE_OP(
        value, spatial_shapes, level_start_index, sampling_locations, attention_weights
    )


def flops(
    value_shape: torch.Size | tuple[int, ...], loc_shape: torch.Size | tuple[int, ...]
) -> int:
    """Forward FLOPs of one call by the convention above (what FlopCounterMode reports)."""
    elements, points = _output_elements_and_points(tuple(value_shape), tuple(loc_shape))
    return FORWARD_FLOPS_PER_POINT * elements * points
