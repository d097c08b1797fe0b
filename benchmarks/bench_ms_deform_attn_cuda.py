"""The CUDA ms_deform_attn kernel on one GPU: correctness against float64, then timings.

    python benchmarks/bench_ms_deform_attn_cuda.py [--json OUT] [--seed N] [--large-frames 36]

Needs a CUDA device (exits with a message otherwise). Shapes are SeqFormer's, as in
`bench_ms_deform_attn.py` (the CPU benchmark, whose input generator this reuses): four levels
45x80 .. 6x10, 8 heads x 32 channels, 4 points per level; encoder 4,820 queries per frame,
decoder 300; a T=5 clip as a batch of 5 frames, and a larger batch (36 frames, a long
YouTube-VIS video) that fills the chip.

Correctness: the float32 kernel's output and its three gradients (value, sampling locations,
attention weights), on inputs drawn with a fresh seed (printed; `--seed` repeats a draw), are
compared with the PyTorch reference run in float64 by ||out - ref|| / ||ref||; a NaN or an error
above MAX_REL_ERROR fails the script. The float32 reference is measured the same way, for scale.
The location gradient jumps where a sampling point crosses a pixel line (the bilinear weights'
slopes change there), and float32 rounding of the pixel coordinate (~1e-5 px) puts the few
points that close to a line in the neighbouring cell: at these shapes that alone gives errors
near 1e-3 in the float32 reference as in the kernel. So grad_loc is compared at the points
farther than PIXEL_LINE_MARGIN from every pixel line (over 99% of them); its error over all
points is reported too. The kernel's output buffer is poisoned with NaN first, so an element
the kernel never writes shows up as a NaN.

Timing: CUDA events around each call after a warm-up, median over many calls, rotating among
several input sets so large cases do not time a warm L2. Kernel (the public op) against the
reference (grid_sample) on the same GPU, for forward, backward and forward+backward. The last
column is the least traffic a case needs (each input read once, each output written once) over
the kernel's median: compare it with the measured device-to-device copy rate printed above it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from bench_ms_deform_attn import CHANNELS, FRAMES, HEADS, LEVELS, POINTS, SHAPES, seqformer_inputs

from vis_bench.cuda_ops.ms_deform_attn import (
    fast_kernel_available,
    ms_deform_attn,
    ms_deform_attn_reference,
    ms_deform_attn_reference_backward,
)
from vis_bench.measure.environment import environment as measured_on
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

MAX_REL_ERROR = 1e-5  # float32 arithmetic lands near 1e-6 here
PIXEL_LINE_MARGIN = 1e-3  # pixels; far above float32 rounding of a coordinate below 100 px
MODES = ("forward", "backward", "forward+backward")
IMPLS = ("kernel", "reference")

Inputs = tuple[torch.Tensor, ...]  # value, shapes, starts, loc, weights, grad_out


# ------------------------------------------------------------------------------ inputs


def gpu_inputs(queries: int, frames: int, seed: int, requires_grad: bool = False) -> Inputs:
    """SeqFormer-shaped inputs on the GPU, plus a random output gradient of the same draw."""
    value, shapes, starts, loc, weights = seqformer_inputs(queries, frames=frames, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    grad_out = torch.randn(frames, queries, HEADS * CHANNELS, generator=gen)
    tensors = [t.cuda() for t in (value, shapes, starts, loc, weights, grad_out)]
    for index in (0, 3, 4):
        tensors[index].requires_grad_(requires_grad)
    return tuple(tensors)


def min_bytes(inputs: Inputs, mode: str) -> int:
    """Least device-memory traffic of one call: every input read once, every output written once."""
    value, _, _, loc, weights, grad_out = inputs
    size = value.element_size()
    forward = size * (value.numel() + loc.numel() + weights.numel() + grad_out.numel())
    backward = size * (grad_out.numel() + 2 * (value.numel() + loc.numel() + weights.numel()))
    return {"forward": forward, "backward": backward, "forward+backward": forward + backward}[mode]


# -------------------------------------------------------------------------- correctness


def _rel_error(got: torch.Tensor, expected: torch.Tensor) -> float:
    """||got - expected|| / ||expected||, infinite when `got` holds a NaN or an infinity."""
    if not torch.isfinite(got).all():
        return float("inf")
    expected = expected.double()
    return float((got.double() - expected).norm() / expected.norm())


def _poison_allocator(like: torch.Tensor) -> None:
    """Leave a NaN-filled block of `like`'s size in the caching allocator for the next allocation.

    The kernel allocates its output with `empty`, which reuses this block; an output element the
    kernel skips then stays NaN and fails the check instead of passing on leftover data.
    """
    block = torch.full_like(like, float("nan"))
    del block


def _outputs(fn: Callable[..., torch.Tensor], inputs: Inputs, dtype: torch.dtype) -> list:
    value, shapes, starts, loc, weights, grad_out = inputs
    leaves = [t.detach().to(dtype).requires_grad_() for t in (value, loc, weights)]
    if fn is ms_deform_attn:
        _poison_allocator(grad_out.to(dtype))
    out = fn(leaves[0], shapes, starts, leaves[1], leaves[2])
    grads = torch.autograd.grad(out, leaves, grad_out.to(dtype))
    return [out.detach(), *grads]


def off_pixel_lines(loc: torch.Tensor, shapes: torch.Tensor) -> torch.Tensor:
    """[B, Q, M, L, P, 1] mask of the points farther than PIXEL_LINE_MARGIN from any pixel line."""
    wh = shapes.flip(1).to(torch.float64).view(1, 1, 1, -1, 1, 2)
    pixels = loc.double() * wh - 0.5  # grid_sample's pixel coordinates, align_corners=False
    return ((pixels - pixels.round()).abs() >= PIXEL_LINE_MARGIN).all(-1, keepdim=True)


def check_correctness(seed: int) -> list[dict[str, Any]]:
    """Relative errors of the float32 kernel (and, for scale, the float32 reference) vs float64."""
    rows = []
    for case, queries in SHAPES.items():
        inputs = gpu_inputs(queries, FRAMES, seed)
        expected = _outputs(ms_deform_attn_reference, inputs, torch.float64)
        kernel = _outputs(ms_deform_attn, inputs, torch.float32)
        reference = _outputs(ms_deform_attn_reference, inputs, torch.float32)
        smooth = off_pixel_lines(inputs[3], inputs[1])
        names = ("output", "grad_value", "grad_loc", "grad_weights")
        for name, k, r, e in zip(names, kernel, reference, expected, strict=True):
            row = {"case": case, "tensor": name}
            if name == "grad_loc":
                row["tensor"] = "grad_loc (off pixel lines)"
                row["points_compared"] = float(smooth.double().mean())
                row["kernel_rel_error_all_points"] = _rel_error(k, e)
                row["reference_fp32_rel_error_all_points"] = _rel_error(r, e)
                k, r, e = (t * smooth for t in (k, r, e))
            row["kernel_rel_error"] = _rel_error(k, e)
            row["reference_fp32_rel_error"] = _rel_error(r, e)
            rows.append(row)
        del inputs, expected, kernel, reference
    return rows


# ------------------------------------------------------------------------------- timing


def _kernel_backward(value, shapes, starts, loc, weights, grad_out):
    return torch.ops.vis_bench_ops.ms_deform_attn_backward(
        grad_out, value, shapes, starts, loc, weights
    )


def _reference_backward(value, shapes, starts, loc, weights, grad_out):
    return ms_deform_attn_reference_backward(grad_out, value, shapes, starts, loc, weights)


def call_for(impl: str, mode: str) -> Callable[[Inputs], Any]:
    """One timed call of `impl` in `mode` on an input set."""
    fn = ms_deform_attn if impl == "kernel" else ms_deform_attn_reference
    if mode == "forward":

        def call(inputs: Inputs) -> Any:
            with torch.no_grad():
                return fn(*inputs[:5])

    elif mode == "backward":
        backward = _kernel_backward if impl == "kernel" else _reference_backward

        def call(inputs: Inputs) -> Any:
            with torch.no_grad():
                return backward(*inputs)

    else:

        def call(inputs: Inputs) -> Any:
            value, shapes, starts, loc, weights, grad_out = inputs
            out = fn(value, shapes, starts, loc, weights)
            return torch.autograd.grad(out, (value, loc, weights), grad_out)

    return call


def time_calls(
    call: Callable[[Inputs], Any],
    input_sets: list[Inputs],
    warmup: int,
    repeats: int,
    max_seconds: float,
) -> list[float]:
    """Milliseconds of each timed call (CUDA events), after `warmup` untimed calls.

    The warm-up also estimates the time per call, which caps the repeats at about `max_seconds`
    (never fewer than 10) so slow reference cases do not dominate the run.
    """
    torch.cuda.synchronize()
    start = time.perf_counter()
    for index in range(warmup):
        call(input_sets[index % len(input_sets)])
    torch.cuda.synchronize()
    per_call = (time.perf_counter() - start) / max(1, warmup)
    count = max(10, min(repeats, int(max_seconds / max(per_call, 1e-6))))
    events = [
        (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
        for _ in range(count)
    ]
    for index, (begin, end) in enumerate(events):
        inputs = input_sets[index % len(input_sets)]
        begin.record()
        call(inputs)
        end.record()
    torch.cuda.synchronize()
    return [begin.elapsed_time(end) for begin, end in events]


def copy_bandwidth_gbs(nbytes: int = 1 << 30) -> float:
    """Device-to-device copy rate, counting bytes read plus bytes written (median of 20)."""
    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda").random_()
    dst = torch.empty_like(src)
    times = time_calls(lambda _: dst.copy_(src), [()], warmup=3, repeats=20, max_seconds=10)
    return 2 * nbytes / (statistics.median(times) * 1e-3) / 1e9


def run_timings(
    large_frames: int, sets: int, repeats: int, max_seconds: float, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    rows = []
    cases = [
        (f"{case} T={frames}", queries, frames)
        for frames in (FRAMES, large_frames)
        for case, queries in SHAPES.items()
    ]
    for label, queries, frames in cases:
        input_sets = [
            gpu_inputs(queries, frames, seed=100 + i, requires_grad=True) for i in range(sets)
        ]
        for mode in MODES:
            row: dict[str, Any] = {
                "case": label,
                "frames": frames,
                "queries": queries,
                "mode": mode,
            }
            for impl in IMPLS:
                times = time_calls(
                    call_for(impl, mode),
                    input_sets,
                    warmup=5,
                    repeats=repeats,
                    max_seconds=max_seconds,
                )
                row[f"{impl}_median_ms"] = statistics.median(times)
                row[f"{impl}_min_ms"] = min(times)
                row[f"{impl}_repeats"] = len(times)
            row["speedup"] = row["reference_median_ms"] / row["kernel_median_ms"]
            row["min_bytes"] = min_bytes(input_sets[0], mode)
            row["kernel_gbs"] = row["min_bytes"] / (row["kernel_median_ms"] * 1e-3) / 1e9
            rows.append(row)
            log(
                f"{label:<16} {mode:<17} kernel {row['kernel_median_ms']:9.3f} ms  "
                f"reference {row['reference_median_ms']:9.3f} ms  x{row['speedup']:.1f}"
            )
        del input_sets
        torch.cuda.empty_cache()
    return rows


# ------------------------------------------------------------------------------ report


def environment() -> dict[str, Any]:
    """The harness's environment record for the GPU, plus what a kernel timing also depends on."""
    props = torch.cuda.get_device_properties(0)
    env = measured_on("cuda")
    env.update(
        multiprocessors=props.multi_processor_count,
        memory_gib=round(props.total_memory / 2**30, 1),
        cuda=torch.version.cuda,
        capability=".".join(map(str, torch.cuda.get_device_capability(0))),
    )
    return env


def format_tables(correctness: list[dict[str, Any]], timings: list[dict[str, Any]]) -> str:
    lines = [
        "| case | tensor | kernel fp32 rel. error | reference fp32 rel. error |",
        "|---|---|---:|---:|",
    ]
    for row in correctness:
        lines.append(
            f"| {row['case']} | {row['tensor']} | {row['kernel_rel_error']:.2e} | "
            f"{row['reference_fp32_rel_error']:.2e} |"
        )
        if "kernel_rel_error_all_points" in row:  # for the record; not checked (module docstring)
            lines.append(
                f"| {row['case']} | grad_loc (all points) | "
                f"{row['kernel_rel_error_all_points']:.2e} | "
                f"{row['reference_fp32_rel_error_all_points']:.2e} |"
            )
    lines += [
        "",
        "| case | mode | kernel median ms | reference median ms | speed-up | kernel GB/s (min bytes) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in timings:
        lines.append(
            f"| {row['case']} | {row['mode']} | {row['kernel_median_ms']:.3f} | "
            f"{row['reference_median_ms']:.3f} | {row['speedup']:.1f}x | {row['kernel_gbs']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the full report here")
    parser.add_argument("--seed", type=int, help="seed of the correctness inputs (default: fresh)")
    parser.add_argument("--large-frames", type=int, default=36, help="frames of the large batch")
    parser.add_argument("--sets", type=int, default=3, help="input sets the timed calls rotate")
    parser.add_argument("--repeats", type=int, default=200, help="timed calls at most per case")
    parser.add_argument(
        "--max-seconds", type=float, default=1.5, help="about this long per case and impl"
    )
    args = parser.parse_args(argv)

    if not torch.cuda.is_available():
        print(
            "bench_ms_deform_attn_cuda: no CUDA device here (torch "
            f"{torch.__version__}, CUDA build {torch.version.cuda}); run it on a machine with a GPU, "
            "or use benchmarks/bench_ms_deform_attn.py for the CPU kernel",
            file=sys.stderr,
        )
        return 2
    reason = "see the warning above"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback warning means the kernel did not build
        try:
            available = fast_kernel_available("cuda")
        except RuntimeWarning as err:
            available, reason = False, str(err)
    if not available:
        print(
            f"bench_ms_deform_attn_cuda: the CUDA kernel is unavailable: {reason}", file=sys.stderr
        )
        return 2

    provenance = start_provenance()
    env = environment()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    print(
        f"{env}\nlevels {LEVELS}, {HEADS} heads x {CHANNELS} channels, {POINTS} points; "
        f"correctness seed {seed}"
    )
    correctness = check_correctness(seed)
    bandwidth = copy_bandwidth_gbs()
    print(f"device-to-device copy: {bandwidth:.0f} GB/s (read + write)")
    timings = run_timings(args.large_frames, args.sets, args.repeats, args.max_seconds, print)
    failed = [row for row in correctness if not row["kernel_rel_error"] <= MAX_REL_ERROR]
    if args.json:
        report = {
            "environment": env,
            "seed": seed,
            "max_rel_error": MAX_REL_ERROR,
            "pixel_line_margin": PIXEL_LINE_MARGIN,
            "copy_gbs": bandwidth,
            "correctness": correctness,
            "timings": timings,
            "passed": not failed,
        }
        write_json_with_provenance(args.json, report, provenance, indent=2)
    print()
    print(format_tables(correctness, timings))
    if failed:
        for row in failed:
            print(
                f"FAILED: {row['case']} {row['tensor']}: relative error "
                f"{row['kernel_rel_error']:.3e} (float32 reference: "
                f"{row['reference_fp32_rel_error']:.3e})",
                file=sys.stderr,
            )
        return 1
    print(f"\ncorrectness: all {len(correctness)} kernel errors <= {MAX_REL_ERROR:.0e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
