"""float16 and bfloat16 run the compiled kernels, computing in float32.

Locations and weights may also come in float32 (as under autocast). The kernels widen half
inputs to float32 (exactly), compute every location, bilinear weight and
sum in float32, and round each result once. Against the float64 reference on the same
(upcast) inputs the error is therefore one rounding, at most half a unit in the last place
(eps / 2 relative), plus float32 arithmetic, far below that (ATOL, absolute, for results near
zero).
"""

from __future__ import annotations

import warnings

import pytest
import torch

from tests.helpers.ms_deform_attn_inputs import grads, make_inputs, require_cpu_kernel
from vis_bench.cuda_ops.ms_deform_attn import (
    core_usage,
    fast_kernel_available,
    ms_deform_attn,
    ms_deform_attn_reference,
    reset_core_usage,
)

HALF_TYPES = [torch.bfloat16, torch.float16]
#: float32 arithmetic on O(1) values, summed over at most a few hundred terms
ATOL = {"output": 1e-5, "grad": 1e-4}
CASES = [
    dict(B=2, M=3, D=5, shapes=((6, 7), (3, 4)), Q=9, P=4),  # any D
    dict(B=1, M=8, D=32, shapes=((12, 20), (6, 10), (3, 5), (2, 3)), Q=40, P=4),  # SeqFormer's D
    dict(B=3, M=2, D=16, shapes=((9, 2), (1, 5), (4, 4)), Q=5, P=2, spread=1.5),
    dict(B=1, M=1, D=64, shapes=((5, 3), (2, 2)), Q=4, P=1),
]


def case_id(case: dict) -> str:
    return f"L{len(case['shapes'])}M{case['M']}D{case['D']}"


@pytest.fixture(scope="module")
def compiled() -> None:
    require_cpu_kernel()


def _float64(inputs):
    return [t.double() if t.is_floating_point() else t for t in inputs]


def assert_one_rounding(got: torch.Tensor, expected: torch.Tensor, atol: float, name: str):
    eps = torch.finfo(got.dtype).eps
    torch.testing.assert_close(
        got.double(), expected, rtol=eps / 2, atol=atol, msg=lambda m: f"{name}: {m}"
    )


def _check_forward_and_backward(inputs, dtype, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    grad_out = torch.randn(ms_deform_attn_reference(*inputs).shape, generator=gen).to(dtype)
    got = grads(ms_deform_attn, inputs, grad_out.to(inputs[0].device))
    expected = grads(
        ms_deform_attn_reference, _float64(inputs), grad_out.double().to(got[0].device)
    )
    for name, g, e in zip(("output", "value", "loc", "weights"), got, expected, strict=True):
        assert g.dtype == dtype, name
        assert_one_rounding(g, e, ATOL["output" if name == "output" else "grad"], name)


@pytest.mark.parametrize("dtype", HALF_TYPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cpu_kernel_runs_half_types_in_float32(compiled, case, dtype) -> None:
    inputs = make_inputs(dtype=dtype, seed=5, **case)
    reset_core_usage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "using the reference" warning
        _check_forward_and_backward(inputs, dtype, seed=6)
    assert core_usage() == {"compiled-cpu": 1}  # the forward (backward calls are not counted)


@pytest.mark.parametrize("dtype", HALF_TYPES, ids=str)
def test_half_output_is_the_float32_result_rounded_once(compiled, dtype) -> None:
    """On inputs exact in the half type, the float32 kernel does the same float32 arithmetic
    in the same order, so the half kernel returns its result rounded once, bit for bit."""
    for case in CASES[:3]:
        inputs = make_inputs(dtype=dtype, seed=7, **case)
        as_float32 = [t.float() if t.is_floating_point() else t for t in inputs]
        assert torch.equal(ms_deform_attn(*inputs), ms_deform_attn(*as_float32).to(dtype))


@pytest.mark.parametrize("dtype", HALF_TYPES, ids=str)
def test_float32_locations_with_a_half_value(compiled, dtype) -> None:
    """What autocast passes: value and weights from Linear layers in the half type, locations
    in float32 (reference points + offsets). Locations are used at full precision and their
    gradient comes back in float32."""
    value, shapes, starts, loc, weights = make_inputs(dtype=torch.float32, seed=10, **CASES[1])
    inputs = (value.to(dtype), shapes, starts, loc, weights.to(dtype))
    grad_out = torch.randn(ms_deform_attn_reference(*_float64(inputs)).shape).to(dtype)
    got = grads(ms_deform_attn, inputs, grad_out)
    expected = grads(ms_deform_attn_reference, _float64(inputs), grad_out.double())
    assert [g.dtype for g in got] == [dtype, dtype, torch.float32, dtype]
    for name, g, e in zip(("output", "value", "loc", "weights"), got, expected, strict=True):
        assert_one_rounding(g, e, ATOL["output" if name == "output" else "grad"], name)


def test_autocast_runs_the_compiled_kernel(compiled) -> None:
    """A model run under CPU autocast (how the harness runs bf16/fp16 cells) uses the kernel."""
    from vis_bench.methods.common.ms_deform_attn import MSDeformAttn

    torch.manual_seed(0)
    attn = MSDeformAttn(d_model=32, n_levels=2, n_heads=4, n_points=3)
    shapes, starts = torch.tensor([[4, 6], [2, 3]]), torch.tensor([0, 24])
    args = (torch.randn(2, 5, 32), torch.rand(2, 5, 2, 2), torch.randn(2, 30, 32), shapes, starts)
    expected = attn(*args)
    for dtype in HALF_TYPES:
        reset_core_usage()
        with warnings.catch_warnings(), torch.autocast("cpu", dtype=dtype):
            warnings.simplefilter("error")
            out = attn(*args)
        assert core_usage() == {"compiled-cpu": 1}
        # the Linear layers run in the half type: agreement to a few of its units
        torch.testing.assert_close(out.float(), expected, rtol=0, atol=8 * torch.finfo(dtype).eps)


def test_locations_in_another_dtype_are_rejected(compiled) -> None:
    value, shapes, starts, loc, weights = make_inputs(dtype=torch.bfloat16)
    with pytest.raises(RuntimeError, match="float32 locations and weights are accepted"):
        ms_deform_attn(value, shapes, starts, loc.double(), weights)


cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda_only
@pytest.mark.parametrize("dtype", HALF_TYPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cuda_kernel_runs_half_types_in_float32(case, dtype) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fast_kernel_available("cuda")
    inputs = make_inputs(dtype=dtype, device="cuda", seed=8, **case)
    reset_core_usage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_forward_and_backward(inputs, dtype, seed=9)
    assert core_usage() == {"cuda": 1}


@cuda_only
@pytest.mark.parametrize("dtype", HALF_TYPES, ids=str)
def test_cuda_float32_locations_with_a_half_value(dtype) -> None:
    value, shapes, starts, loc, weights = make_inputs(dtype=torch.float32, seed=11, **CASES[1])
    inputs = tuple(t.cuda() for t in (value.to(dtype), shapes, starts, loc, weights.to(dtype)))
    grad_out = torch.randn(inputs[0].shape[0], loc.shape[1], 8 * 32).to(dtype).cuda()
    got = grads(ms_deform_attn, inputs, grad_out)
    expected = grads(ms_deform_attn_reference, _float64(inputs), grad_out.double())
    assert [g.dtype for g in got] == [dtype, dtype, torch.float32, dtype]
    for name, g, e in zip(("output", "value", "loc", "weights"), got, expected, strict=True):
        assert_one_rounding(g, e, ATOL["output" if name == "output" else "grad"], name)
