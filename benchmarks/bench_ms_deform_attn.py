"""Benchmarks: compiled ms_deform_attn vs the pure-PyTorch reference, single-threaded CPU.

Run explicitly (not collected by the default `pytest`, whose testpaths is tests/):

    pytest benchmarks/bench_ms_deform_attn.py --benchmark-columns=median,iqr,min,max,rounds

Shapes are SeqFormer's at 360x640 input, T=5 frames processed as a batch of 5: four levels
45x80, 23x40, 12x20, 6x10 (stride 8..64), 8 heads x 32 channels, 4 points per level. Encoder:
every token is a query (4820 per frame); decoder: 300 queries per frame.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from vis_bench.cuda_ops.ms_deform_attn import (
    fast_kernel_available,
    ms_deform_attn,
    ms_deform_attn_reference,
)

LEVELS = ((45, 80), (23, 40), (12, 20), (6, 10))
FRAMES, HEADS, CHANNELS, POINTS = 5, 8, 32, 4
SHAPES = {"encoder": sum(h * w for h, w in LEVELS), "decoder": 300}
IMPLS = {"fast": ms_deform_attn, "reference": ms_deform_attn_reference}
ROUNDS = {"encoder": 5, "decoder": 20}


def _reference_points(queries: int, gen: torch.Generator) -> torch.Tensor:
    """Normalised (x, y) per query: encoder tokens sit on their own pixel centre, decoder queries
    anywhere; as in Deformable DETR, the same point is used on every level."""
    if queries != SHAPES["encoder"]:
        return torch.rand(queries, 2, generator=gen)
    points = []
    for h, w in LEVELS:
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        points.append(torch.stack([(xs.flatten() + 0.5) / w, (ys.flatten() + 0.5) / h], -1))
    return torch.cat(points)


def seqformer_inputs(
    queries: int, requires_grad: bool = False, frames: int = FRAMES, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    """Inputs with realistic sampling locality: offsets of a few pixels around each query's
    reference point (uniformly random locations would mostly time cache misses)."""
    gen = torch.Generator().manual_seed(seed)
    shapes = torch.tensor(LEVELS, dtype=torch.long)
    sizes = shapes.prod(1)
    starts = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)[:-1]])
    L = len(LEVELS)
    value = torch.randn(frames, int(sizes.sum()), HEADS, CHANNELS, generator=gen)
    ref = _reference_points(queries, gen).view(1, queries, 1, 1, 1, 2)
    offsets_px = torch.randn(frames, queries, HEADS, L, POINTS, 2, generator=gen) * 2.0
    wh = shapes.flip(1).to(torch.float32).view(1, 1, 1, L, 1, 2)
    loc = ref + offsets_px / wh
    weights = torch.rand(frames, queries, HEADS, L * POINTS, generator=gen).softmax(-1)
    weights = weights.view(frames, queries, HEADS, L, POINTS)
    for t in (value, loc, weights):
        t.requires_grad_(requires_grad)
    return value, shapes, starts, loc, weights


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """Single-threaded numbers compare kernels, not how many cores the runner had."""
    if not fast_kernel_available("cpu"):
        pytest.fail("the CPU kernel did not build; benchmarks would only time the reference")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("shape", list(SHAPES))
def test_forward(benchmark, shape: str, impl: str) -> None:
    inputs = seqformer_inputs(SHAPES[shape])
    benchmark.group = f"ms_deform_attn forward {shape}"
    benchmark.extra_info.update(threads=torch.get_num_threads(), queries=SHAPES[shape])
    with torch.no_grad():
        out = benchmark.pedantic(
            IMPLS[impl], args=inputs, rounds=ROUNDS[shape], warmup_rounds=1, iterations=1
        )
    assert out.shape == (FRAMES, SHAPES[shape], HEADS * CHANNELS)


@pytest.mark.parametrize("impl", list(IMPLS))
def test_forward_backward_decoder(benchmark, impl: str) -> None:
    inputs = seqformer_inputs(SHAPES["decoder"], requires_grad=True)
    value, _, _, loc, weights = inputs
    grad_out = torch.randn(FRAMES, SHAPES["decoder"], HEADS * CHANNELS)
    benchmark.group = "ms_deform_attn forward+backward decoder"

    def step() -> None:
        out = IMPLS[impl](*inputs)
        torch.autograd.grad(out, (value, loc, weights), grad_out)

    benchmark.pedantic(step, rounds=10, warmup_rounds=1, iterations=1)


def _median_seconds(fn, inputs, rounds: int) -> float:
    times = []
    with torch.no_grad():
        fn(*inputs)
        for _ in range(rounds):
            start = time.perf_counter()
            fn(*inputs)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_encoder_speedup_target() -> None:
    """The reason the kernel exists: >= 4x over the reference on the encoder shape."""
    inputs = seqformer_inputs(SHAPES["encoder"])
    fast = _median_seconds(ms_deform_attn, inputs, rounds=3)
    reference = _median_seconds(ms_deform_attn_reference, inputs, rounds=3)
    print(f"encoder forward: fast {fast:.3f}s, reference {reference:.3f}s, x{reference / fast:.1f}")
    assert reference / fast >= 4.0
