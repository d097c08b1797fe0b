"""float16 and bfloat16 run the compiled kernels, computing in float32.

The kernels widen half inputs to float32 (exactly), compute every location, bilinear weight and
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
