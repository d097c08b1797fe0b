"""The CPU ms_deform_attn kernel of this checkout against the one of a git revision, per dtype.

    python benchmarks/bench_ms_deform_attn_revisions.py [--baseline REV] [--rounds 7] [--json OUT]

A kernel change must not slow the dtypes that already had a kernel; on a shared, noisy machine
that is only visible when both kernels run in one process, alternately. This script builds the
CPU source at `--baseline` (default HEAD) under a private op namespace next to this checkout's
kernel and times, single-threaded, each case with both, alternating call by call: the forward
at SeqFormer's encoder and decoder shapes (those of `bench_ms_deform_attn.py`) and the backward
op at the decoder shape. Both kernels are called through their private ops, so Python overhead
is the same. A dtype the baseline has no kernel for (it fell back to the pure-PyTorch
reference) is timed against that reference, which is what ran before. Prints a markdown
table: medians in milliseconds, and current / baseline as the median of each round's ratio
(the two calls of a round run back to back, in alternating order, so a burst of load on a
shared machine, or data left in the cache by the first call, affects both alike).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from bench_ms_deform_attn import CHANNELS, FRAMES, HEADS, SHAPES, seqformer_inputs

from vis_bench.cuda_ops.ms_deform_attn import (
    fast_kernel_available,
    ms_deform_attn_reference,
    ms_deform_attn_reference_backward,
)
from vis_bench.cuda_ops.ms_deform_attn._build import CPU_NAMESPACE
from vis_bench.measure.environment import environment as measured_on
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

SOURCE = "cuda_ops/ms_deform_attn/csrc/ms_deform_attn_cpu.cpp"
REPO = Path(__file__).resolve().parents[1]
DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}
CASES = (("forward", "encoder"), ("forward", "decoder"), ("backward", "decoder"))
#: the decoder's calls are 5-15x shorter than the encoder's: more rounds for the same noise
ROUNDS_SCALE = {"encoder": 1, "decoder": 5}


def build_baseline(revision: str, workdir: Path) -> tuple[str, set[torch.dtype]]:
    """Compile the CPU kernel source at `revision` as its own op namespace; its name and dtypes."""
    from torch.utils import cpp_extension

    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision], cwd=REPO, capture_output=True, text=True
    )
    if commit.returncode != 0:
        raise SystemExit(f"error: unknown revision {revision!r}: {commit.stderr.strip()}")
    namespace = f"{CPU_NAMESPACE}_{commit.stdout.strip()}"
    source = subprocess.run(
        ["git", "show", f"{revision}:{SOURCE}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = workdir / f"{namespace}.cpp"
    path.write_text(source.replace(CPU_NAMESPACE, namespace))
    cpp_extension.load(
        name=namespace,
        sources=[str(path)],
        extra_cflags=["-O3", "-fopenmp"],
        extra_ldflags=["-fopenmp"],
        is_python_module=False,
        verbose=False,
    )
    half = "AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16" in source
    dtypes = {torch.float32, torch.float64}
    return namespace, dtypes | ({torch.float16, torch.bfloat16} if half else set())


def calls_for(namespace: str | None, mode: str) -> Callable[..., object]:
    """One call of the kernel in `namespace` (None: the pure-PyTorch reference) in `mode`."""
    if mode == "forward":
        if namespace is None:
            return lambda g, *inputs: ms_deform_attn_reference(*inputs)
        op = getattr(torch.ops, namespace).forward
        return lambda g, *inputs: op(*inputs)
    if namespace is None:
        return lambda g, *inputs: ms_deform_attn_reference_backward(g, *inputs)
    op = getattr(torch.ops, namespace).backward
    return lambda g, *inputs: op(g, *inputs)


def time_pair(
    calls: dict[str, Callable[..., object]], args: tuple, rounds: int
) -> dict[str, list[float]]:
    """Milliseconds of each call per round (after a warm-up), the order reversed every round."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls.items())
    with torch.no_grad():
        for call in calls.values():
            call(*args)
        for round_index in range(rounds):
            for name, call in order if round_index % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                call(*args)
                times[name].append((time.perf_counter() - start) * 1e3)
    return times


def case_inputs(shape: str, dtype: torch.dtype) -> tuple:
    value, shapes, starts, loc, weights = seqformer_inputs(SHAPES[shape])
    gen = torch.Generator().manual_seed(1)
    grad_out = torch.randn(FRAMES, SHAPES[shape], HEADS * CHANNELS, generator=gen)
    return tuple(
        t.to(dtype) if t.is_floating_point() else t
        for t in (grad_out, value, shapes, starts, loc, weights)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="HEAD", help="git revision to compare with")
    parser.add_argument(
        "--rounds", type=int, default=7, help="timed calls of each kernel (x5 for the decoder)"
    )
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--json", type=Path, help="write the rows and the environment here")
    args = parser.parse_args(argv)
    if not fast_kernel_available("cpu"):
        raise SystemExit("error: the CPU kernel of this checkout did not build")
    torch.set_num_threads(1)
    provenance = start_provenance()
    with tempfile.TemporaryDirectory() as workdir:
        baseline_ns, baseline_dtypes = build_baseline(args.baseline, Path(workdir))
    rows = []
    print(
        f"baseline {args.baseline} ({baseline_ns}), single-threaded, {args.rounds} rounds "
        f"(decoder: {args.rounds * ROUNDS_SCALE['decoder']})"
    )
    print("| case | dtype | baseline | baseline ms | current ms | current / baseline |")
    print("|---|---|---|---:|---:|---:|")
    for mode, shape in CASES:
        for name in args.dtypes:
            dtype = DTYPES[name]
            before_ns = baseline_ns if dtype in baseline_dtypes else None
            calls = {
                "baseline": calls_for(before_ns, mode),
                "current": calls_for(CPU_NAMESPACE, mode),
            }
            rounds = args.rounds * ROUNDS_SCALE[shape]
            times = time_pair(calls, case_inputs(shape, dtype), rounds)
            pairs = zip(times["current"], times["baseline"], strict=True)
            row = {
                "case": f"{mode} {shape}",
                "dtype": name,
                "baseline": "kernel" if before_ns else "reference",
                "rounds": rounds,
                "baseline_ms": statistics.median(times["baseline"]),
                "current_ms": statistics.median(times["current"]),
                # each round's two calls ran back to back, under the same machine load
                "ratio": statistics.median(current / baseline for current, baseline in pairs),
            }
            rows.append(row)
            print(
                f"| {row['case']} | {name} | {row['baseline']} | {row['baseline_ms']:.1f} "
                f"| {row['current_ms']:.1f} | {row['ratio']:.2f} |",
                flush=True,
            )
    if args.json:
        report = {"baseline": args.baseline, "rounds": args.rounds, "rows": rows}
        report["environment"] = measured_on()
        write_json_with_provenance(args.json, report, provenance)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
