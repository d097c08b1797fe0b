"""vis_bench.cuda_ops.ms_deform_attn: compiled CPU kernel vs the PyTorch reference vs a naive loop.

The extension is compiled once per session (module fixture; torch's extension cache makes later
sessions instant). The nvcc compile test is marked slow; the GPU parity tests run wherever CUDA
is available and are skipped here otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

import pytest
import torch

from tests.helpers.ms_deform_attn_inputs import (
    grads,
    make_inputs,
    naive_ms_deform_attn,
    require_cpu_kernel,
)
from vis_bench.cuda_ops.ms_deform_attn import (
    _build,
    fast_kernel_available,
    flops,
    ms_deform_attn,
    ms_deform_attn_reference,
    ms_deform_attn_reference_backward,
)

CSRC = Path(_build.__file__).resolve().parent / "csrc"


@pytest.fixture(scope="module")
def compiled() -> None:
    """Build the CPU extension once; a build failure with a compiler present is a test failure."""
    require_cpu_kernel()


@pytest.fixture
def restore_build_state():
    """Tests that fake build failures put the real build state back afterwards."""
    loaded, warned = dict(_build._loaded), set(_build._warned)
    yield
    _build._loaded.clear()
    _build._loaded.update(loaded)
    _build._warned.clear()
    _build._warned.update(warned)


# ------------------------------------------------------------------ reference (no compile)


def test_reference_matches_naive_loop() -> None:
    inputs = make_inputs(dtype=torch.float64, spread=0.4)
    expected = naive_ms_deform_attn(*inputs)
    torch.testing.assert_close(ms_deform_attn_reference(*inputs), expected, rtol=0, atol=1e-12)


def test_reference_backward_matches_autograd() -> None:
    inputs = make_inputs(dtype=torch.float64, spread=0.4)
    grad_out = torch.randn(2, 6, 8, dtype=torch.float64)
    _, *expected = grads(ms_deform_attn_reference, inputs, grad_out)
    got = ms_deform_attn_reference_backward(grad_out, *inputs)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------- compiled CPU kernel

SHAPE_CASES = [
    dict(B=1, M=1, D=1, shapes=((1, 1),), Q=1, P=1),
    dict(B=2, M=3, D=5, shapes=((6, 7), (3, 4)), Q=9, P=4),
    dict(B=1, M=8, D=32, shapes=((12, 20), (6, 10), (3, 5), (2, 3)), Q=40, P=4),
    dict(B=3, M=2, D=7, shapes=((9, 2), (1, 5), (4, 4)), Q=5, P=2, spread=1.5),
    dict(B=1, M=2, D=16, shapes=((4, 6),), Q=3, P=2),
    dict(B=1, M=1, D=64, shapes=((5, 3), (2, 2)), Q=4, P=1),
    dict(B=1, M=3, D=8, shapes=((5, 6), (2, 3)), Q=5, P=3),  # 120 threads: a partial last warp
]


def case_id(case: dict) -> str:
    return f"L{len(case['shapes'])}M{case['M']}D{case['D']}"


@pytest.mark.parametrize("case", SHAPE_CASES, ids=case_id)
def test_forward_matches_reference_fp32(compiled, case) -> None:
    inputs = make_inputs(**case)
    expected = ms_deform_attn_reference(*inputs)
    got = ms_deform_attn(*inputs)
    assert got.shape == expected.shape and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", SHAPE_CASES[1:], ids=case_id)
def test_backward_matches_reference(compiled, case, dtype) -> None:
    inputs = make_inputs(dtype=dtype, seed=1, **case)
    out = ms_deform_attn_reference(*inputs)
    grad_out = torch.randn(out.shape, dtype=dtype, generator=torch.Generator().manual_seed(2))
    expected = grads(ms_deform_attn_reference, inputs, grad_out)
    got = grads(ms_deform_attn, inputs, grad_out)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    for name, g, e in zip(("out", "value", "loc", "weights"), got, expected, strict=True):
        torch.testing.assert_close(g, e, **tol, msg=lambda m, n=name: f"{n}: {m}")


def test_gradcheck_fp64(compiled) -> None:
    value, shapes, starts, loc, weights = make_inputs(
        B=1, M=2, D=2, shapes=((3, 4), (2, 2)), Q=2, P=2, dtype=torch.float64, spread=0.2
    )
    value.requires_grad_()
    loc.requires_grad_()
    weights.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda v, l_, w: ms_deform_attn(v, shapes, starts, l_, w), (value, loc, weights)
    )


def test_points_outside_and_on_borders(compiled) -> None:
    """Exact borders: pixel -1 and W (all-zero neighbours) and centres of edge pixels."""
    H, W = 4, 8
    value, shapes, starts, _, _ = make_inputs(B=1, M=1, D=3, shapes=((H, W),), dtype=torch.float64)
    xs = [-0.5 / W, 0.0, 0.5 / W, 1.0 - 0.5 / W, 1.0, 1.0 + 0.5 / W, -3.0, 5.0, 0.3]
    ys = [-0.5 / H, 0.0, 0.5 / H, 1.0 - 0.5 / H, 1.0, 1.0 + 0.5 / H, 7.0, -2.0, 0.6]
    pts = torch.tensor([[x, y] for x in xs for y in ys], dtype=torch.float64)
    loc = pts.view(1, -1, 1, 1, 1, 2)
    weights = torch.rand(1, pts.shape[0], 1, 1, 1, dtype=torch.float64)
    inputs = (value, shapes, starts, loc, weights)
    expected_out = naive_ms_deform_attn(*inputs)
    grad_out = torch.randn(expected_out.shape, dtype=torch.float64)
    got = grads(ms_deform_attn, inputs, grad_out)
    expected = grads(ms_deform_attn_reference, inputs, grad_out)
    torch.testing.assert_close(got[0], expected_out, rtol=0, atol=1e-12)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)
    far = (pts < -1).any(1) | (pts > 2).any(1)
    assert far.any() and (got[0].view(-1, 3)[far] == 0).all()


def test_non_contiguous_inputs(compiled) -> None:
    value, shapes, starts, loc, weights = make_inputs(B=2, M=2, D=4, Q=5)
    value_nc = value.transpose(2, 3).contiguous().transpose(2, 3)
    loc_nc = loc.transpose(0, 1).contiguous().transpose(0, 1)
    weights_nc = torch.stack([weights, weights], dim=-1)[..., 0]
    for t in (value_nc, loc_nc, weights_nc):
        assert not t.is_contiguous()
    expected = ms_deform_attn_reference(value, shapes, starts, loc, weights)
    got = ms_deform_attn(value_nc, shapes, starts, loc_nc, weights_nc)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_result_independent_of_thread_count(compiled) -> None:
    inputs = make_inputs(B=2, M=4, D=8, Q=50, seed=3)
    grad_out = torch.randn(2, 50, 32)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = grads(ms_deform_attn, inputs, grad_out)
        torch.set_num_threads(max(2, threads))
        multi = grads(ms_deform_attn, inputs, grad_out)
    finally:
        torch.set_num_threads(threads)
    for s, m in zip(single, multi, strict=True):
        assert torch.equal(s, m)


def test_rejects_mismatched_inputs(compiled) -> None:
    value, shapes, starts, loc, weights = make_inputs()
    with pytest.raises(RuntimeError, match="share a dtype"):
        ms_deform_attn(value.double(), shapes, starts, loc, weights)
    with pytest.raises(RuntimeError, match="attention_weights shape"):
        ms_deform_attn(value, shapes, starts, loc, weights[:, :2])
    with pytest.raises(RuntimeError, match="exceeds value's"):
        ms_deform_attn(value, shapes, starts + 1, loc, weights)


# ------------------------------------------------------ op registration: fake, FLOPs, compile


def test_meta_tensors_propagate_shapes() -> None:
    value, shapes, starts, loc, weights = (t.to("meta") for t in make_inputs(Q=11, M=3, D=5))
    value.requires_grad_()
    loc.requires_grad_()
    out = ms_deform_attn(value, shapes, starts, loc, weights)
    assert out.device.type == "meta" and out.shape == (2, 11, 15)
    grad_value, grad_loc = torch.autograd.grad(out.sum(), (value, loc))
    assert grad_value.shape == value.shape and grad_loc.shape == loc.shape


def test_fake_tensor_mode_and_flop_counter() -> None:
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode

    inputs = make_inputs(B=2, M=3, D=5, Q=7, P=4)
    with FakeTensorMode() as mode:
        fake = [mode.from_tensor(t) for t in inputs]
        out = ms_deform_attn(*fake)
        assert out.shape == (2, 7, 15)
        counter = FlopCounterMode(display=False)
        with counter:
            ms_deform_attn(*fake)
    expected = 10 * 2 * 7 * 3 * 5 * 2 * 4  # 10 FLOPs * (B Q M D) * (L P)
    assert flops(inputs[0].shape, inputs[3].shape) == expected
    assert counter.get_total_flops() == expected


def test_flop_counter_counts_backward() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    value, shapes, starts, loc, weights = (t.to("meta") for t in make_inputs(Q=3, P=2))
    value.requires_grad_()
    counter = FlopCounterMode(display=False)
    with counter:
        ms_deform_attn(value, shapes, starts, loc, weights).sum().backward()
    forward = flops(value.shape, loc.shape)
    assert counter.get_total_flops() == forward + forward * 16 // 10


@pytest.mark.slow
def test_torch_compile_sees_one_op() -> None:
    inputs = make_inputs()
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    compiled_fn = torch.compile(ms_deform_attn, backend=backend, fullgraph=True)
    torch.testing.assert_close(compiled_fn(*inputs), ms_deform_attn_reference(*inputs))
    targets = [str(n.target) for n in graphs[0].graph.nodes if n.op == "call_function"]
    assert any("vis_bench_ops.ms_deform_attn" in t for t in targets), targets


# ------------------------------------------------------------------------------- fallback


def test_fallback_warns_once_and_matches(monkeypatch, restore_build_state) -> None:
    def broken(backend: str) -> None:
        raise RuntimeError("simulated compiler failure\nc++: error: not found")

    monkeypatch.setattr(_build, "_compile", broken)
    _build.reset()
    inputs = make_inputs(dtype=torch.float64)
    grad_out = torch.randn(2, 6, 8, dtype=torch.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = grads(ms_deform_attn, inputs, grad_out)
        second = grads(ms_deform_attn, inputs, grad_out)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages
    assert "build failed" in messages[0] and "not found" in messages[0]
    assert "pure-PyTorch reference" in messages[0]
    expected = grads(ms_deform_attn_reference, inputs, grad_out)
    for a, b, e in zip(first, second, expected, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-12, atol=1e-12)
        assert torch.equal(a, b)
    assert not fast_kernel_available("cpu")


def test_env_var_disables_extension(monkeypatch, restore_build_state) -> None:
    monkeypatch.setenv("VIS_BENCH_NO_EXT", "1")
    monkeypatch.setattr(_build, "_compile", lambda backend: pytest.fail("must not compile"))
    _build.reset()
    inputs = make_inputs()
    with pytest.warns(RuntimeWarning, match="VIS_BENCH_NO_EXT"):
        out = ms_deform_attn(*inputs)
    torch.testing.assert_close(out, ms_deform_attn_reference(*inputs))


def test_dtype_without_kernel_uses_reference(monkeypatch, restore_build_state) -> None:
    """A dtype the kernels do not take runs the reference, with a warning naming the dtype."""
    from vis_bench.cuda_ops.ms_deform_attn import op

    monkeypatch.setattr(op, "KERNEL_DTYPES", (torch.float64,))
    inputs = make_inputs()
    _build.reset()
    with pytest.warns(RuntimeWarning, match="no compiled kernel for torch.float32"):
        out = ms_deform_attn(*inputs)
    torch.testing.assert_close(out, ms_deform_attn_reference(*inputs))


def test_import_does_not_compile() -> None:
    code = (
        "import vis_bench.cuda_ops, vis_bench.cuda_ops.ms_deform_attn as m, sys; "
        "from vis_bench.cuda_ops.ms_deform_attn import _build; "
        "assert not _build._loaded; assert 'torch.utils.cpp_extension' not in sys.modules"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


# --------------------------------------------------------- methods/common core, if present


def test_matches_methods_common_core(compiled) -> None:
    from vis_bench.methods.common.ms_deform_attn_core import ms_deform_attn_core_pytorch

    inputs = make_inputs(**SHAPE_CASES[2])
    torch.testing.assert_close(
        ms_deform_attn(*inputs), ms_deform_attn_core_pytorch(*inputs), rtol=1e-5, atol=1e-5
    )


def test_msdeformattn_module_with_kernel_as_core(compiled) -> None:
    """The hook the models use: same output and parameter grads, with a padding mask."""
    from vis_bench.methods.common import ms_deform_attn as attn_module
    from vis_bench.methods.common import ms_deform_attn_core as core_module

    torch.manual_seed(0)
    attn = attn_module.MSDeformAttn(d_model=32, n_levels=2, n_heads=4, n_points=3).double()
    _, shapes, starts, _, _ = make_inputs(shapes=((6, 5), (3, 3)))
    S = int(shapes.prod(1).sum())
    query = torch.randn(2, 7, 32, dtype=torch.float64)
    source = torch.randn(2, S, 32, dtype=torch.float64)
    reference_points = torch.rand(2, 7, 2, 2, dtype=torch.float64)
    padding = torch.zeros(2, S, dtype=torch.bool)
    padding[1, 20:] = True

    def run() -> tuple[torch.Tensor, ...]:
        attn.zero_grad()
        out = attn(query, reference_points, source, shapes, starts, padding)
        out.pow(2).sum().backward()
        return (out.detach(), *(p.grad.clone() for p in attn.parameters()))

    expected = run()
    with core_module.use_ms_deform_attn_core(ms_deform_attn):
        got = run()
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------------- CUDA


def _nvcc() -> str | None:
    return shutil.which("nvcc") or (
        "/usr/local/cuda/bin/nvcc" if Path("/usr/local/cuda/bin/nvcc").exists() else None
    )


@pytest.mark.slow
def test_cuda_source_compiles_with_nvcc(tmp_path) -> None:
    nvcc = _nvcc()
    if nvcc is None:
        pytest.skip("nvcc not found")
    from torch.utils import cpp_extension

    includes = [f"-I{p}" for p in cpp_extension.include_paths()]
    includes.append(f"-I{sysconfig.get_paths()['include']}")
    cmd = [
        nvcc,
        "-c",
        "-std=c++20",
        "-O0",
        "-Xcompiler",
        "-fPIC",
        *cpp_extension.COMMON_NVCC_FLAGS,  # what a real extension build passes
        *includes,
        str(CSRC / "ms_deform_attn_cuda.cu"),
        "-o",
        str(tmp_path / "ms_deform_attn_cuda.o"),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "ms_deform_attn_cuda.o").stat().st_size > 0


cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda_only
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", SHAPE_CASES, ids=case_id)
def test_cuda_matches_reference(case, dtype) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fast_kernel_available("cuda")
    inputs = make_inputs(dtype=dtype, device="cuda", seed=4, **case)
    out = ms_deform_attn_reference(*inputs)
    grad_out = torch.randn(out.shape, dtype=dtype, device="cuda")
    expected = grads(ms_deform_attn_reference, inputs, grad_out)
    got = grads(ms_deform_attn, inputs, grad_out)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    for g, e in zip(got, expected, strict=True):
        assert g.device.type == "cuda"
        torch.testing.assert_close(g, e, **tol)


@cuda_only
def test_cuda_gradcheck_fp64() -> None:
    value, shapes, starts, loc, weights = make_inputs(
        B=1, M=2, D=2, shapes=((3, 4), (2, 2)), Q=2, P=2, dtype=torch.float64, device="cuda"
    )
    assert torch.autograd.gradcheck(
        lambda v, l_, w: ms_deform_attn(v, shapes, starts, l_, w),
        (value.requires_grad_(), loc.requires_grad_(), weights.requires_grad_()),
    )


@cuda_only
def test_cuda_rejects_mismatched_shapes() -> None:
    value, shapes, starts, loc, weights = make_inputs(device="cuda")
    with pytest.raises(RuntimeError, match="attention_weights shape"):
        ms_deform_attn(value, shapes, starts, loc, weights[:, :2])
    with pytest.raises(RuntimeError, match="sampling_locations shape"):
        ms_deform_attn(value, shapes, starts, loc[:, :, :1], weights[:, :, :1])


@cuda_only
def test_cuda_forward_paths_agree() -> None:
    """float32 with D % 4 == 0 takes the four-channels-per-thread kernel when `value` is 16-byte
    aligned and the one-channel kernel when it is not; both must give the reference's output."""
    value, shapes, starts, loc, weights = make_inputs(
        B=2, M=2, D=8, shapes=((6, 7), (3, 4)), Q=9, P=3, device="cuda", seed=6
    )
    flat = torch.empty(value.numel() + 1, device="cuda")
    shifted = flat[1:].view(value.shape)  # contiguous, 4 bytes past an aligned address
    shifted.copy_(value)
    assert shifted.is_contiguous() and shifted.data_ptr() % 16 == 4
    expected = ms_deform_attn_reference(value, shapes, starts, loc, weights)
    aligned_out = ms_deform_attn(value, shapes, starts, loc, weights)
    shifted_out = ms_deform_attn(shifted, shapes, starts, loc, weights)
    torch.testing.assert_close(aligned_out, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(shifted_out, aligned_out, rtol=1e-6, atol=1e-6)
