"""`core_usage()` names the deformable-attention core that actually ran, fallbacks included."""

from __future__ import annotations

import warnings

import pytest
import torch

from tests.helpers.ms_deform_attn_inputs import grads, make_inputs, require_cpu_kernel
from vis_bench.cuda_ops.ms_deform_attn import (
    CORES,
    _build,
    core_usage,
    ms_deform_attn,
    ms_deform_attn_pytorch,
    ms_deform_attn_reference,
    reset_core_usage,
)
from vis_bench.methods.common.ms_deform_attn import MSDeformAttn
from vis_bench.methods.common.ms_deform_attn_core import use_ms_deform_attn_core


@pytest.fixture(scope="module")
def compiled() -> None:
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


def _attention_call() -> None:
    torch.manual_seed(0)
    attn = MSDeformAttn(d_model=16, n_levels=2, n_heads=2, n_points=2)
    shapes, starts = torch.tensor([[2, 3], [1, 2]]), torch.tensor([0, 6])
    attn(torch.randn(1, 4, 16), torch.rand(1, 4, 2, 2), torch.randn(1, 8, 16), shapes, starts)


def test_names_are_the_documented_ones() -> None:
    assert CORES == ("compiled-cpu", "cuda", "reference")


def test_compiled_calls_are_counted_until_reset(compiled) -> None:
    inputs = make_inputs()
    reset_core_usage()
    assert core_usage() == {}
    ms_deform_attn(*inputs)
    _attention_call()  # the models' default core is the compiled op
    assert core_usage() == {"compiled-cpu": 2}
    reset_core_usage()
    assert core_usage() == {}


def test_explicit_reference_core_is_counted_as_reference(compiled) -> None:
    reset_core_usage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a chosen core is not a fallback: no warning
        with use_ms_deform_attn_core(None):
            _attention_call()
    assert core_usage() == {"reference": 1}


def test_fallback_warns_and_is_counted_as_reference(monkeypatch, restore_build_state) -> None:
    def broken(backend: str) -> None:
        raise RuntimeError("simulated compiler failure")

    monkeypatch.setattr(_build, "_compile", broken)
    _build.reset()
    reset_core_usage()
    with pytest.warns(RuntimeWarning, match="pure-PyTorch reference"):
        _attention_call()
    assert core_usage() == {"reference": 1}


def test_only_forward_calls_on_data_are_counted(compiled) -> None:
    inputs = make_inputs(dtype=torch.float64)
    reset_core_usage()
    grads(ms_deform_attn, inputs, torch.randn(2, 6, 8, dtype=torch.float64))
    grads(ms_deform_attn_pytorch, inputs, torch.randn(2, 6, 8, dtype=torch.float64))
    ms_deform_attn(*(t.to("meta") for t in inputs))  # shape propagation runs no core
    ms_deform_attn_reference(*inputs)  # the plain function is the oracle, not a core
    assert core_usage() == {"compiled-cpu": 1, "reference": 1}


def test_reference_op_matches_the_reference_function_and_its_gradients() -> None:
    inputs = make_inputs(dtype=torch.float64, spread=0.4)
    grad_out = torch.randn(2, 6, 8, dtype=torch.float64)
    got = grads(ms_deform_attn_pytorch, inputs, grad_out)
    expected = grads(ms_deform_attn_reference, inputs, grad_out)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)


def test_the_build_name_differs_by_source_and_by_torch_installation(monkeypatch, tmp_path):
    """Two virtual environments (two torch installations) of one checkout each get their own
    build, so neither rebuilds the library the other is loading."""
    from vis_bench.cuda_ops.ms_deform_attn import _build

    source = tmp_path / "op.cpp"
    source.write_text("int x;")
    here = _build.build_name("ns", [source])
    assert here.startswith("ns_") and here == _build.build_name("ns", [source])
    source.write_text("int y;")
    assert _build.build_name("ns", [source]) != here
    source.write_text("int x;")
    other = tmp_path / "venv" / "torch" / "__init__.py"
    monkeypatch.setattr(_build.torch, "__file__", str(other))
    assert _build.build_name("ns", [source]) != here


def test_two_checkouts_of_one_version_each_get_their_own_build(tmp_path):
    """The build file names its sources by path: two checkouts sharing one build would each
    rebuild the library the other built, at every first use."""
    from vis_bench.cuda_ops.ms_deform_attn import _build

    one, two = tmp_path / "a" / "op.cpp", tmp_path / "b" / "op.cpp"
    for source in (one, two):
        source.parent.mkdir()
        source.write_text("int x;")
    assert _build.build_name("ns", [one]) != _build.build_name("ns", [two])
    assert _build.build_name("ns", [one]) == _build.build_name("ns", [tmp_path / "a/../a/op.cpp"])
