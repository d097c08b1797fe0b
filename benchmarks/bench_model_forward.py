"""Full-model forward timings: against this machine's GEMM peak, and each inference fast path's gain.

    python benchmarks/bench_model_forward.py paths [--methods seqformer ifc mssts] [--rounds 5]
        [--threads 2] [--frames 5] [--device cpu|cuda] [--dtype fp32|fp16|bf16] [--json OUT]
    python benchmarks/bench_model_forward.py seqformer [--repeats 5] [--threads 1 2]
    python benchmarks/bench_model_forward.py ifc [--repeats 3]
    pytest benchmarks/bench_model_forward.py --benchmark-only      # pytest-benchmark form

paths: each method's `infer_clip` (the forward a sweep times, post-processing included) on one
T=5 clip at 360x640 with R50 weights drawn at random (weights do not change the work done),
with every fast path on, with all off, and with each path switched off alone; all variants and a
large float32 `torch.mm` (this machine's GEMM peak, same dtype and threads) alternate within
every round, so all see the same machine load. FLOPs come from the project's counter (1
multiply-add = 1 FLOP), so the peak is quoted in multiply-adds per second too, and a forward's
"fraction of peak" is its multiply-adds per second over the GEMM's. Ratios are per round (a
variant over all-on in the same round), reported as medians.
seqformer: the compiled deformable-attention core against the pure-PyTorch reference core.
ifc: the authors' video loop (backbone once per video) on a 36-frame 360x640 video, near-online
(T=5, S=1) versus offline (T=36), as seconds per frame.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
import torch

from vis_bench.api.registration import get_method
from vis_bench.inference.stopwatch import synchronize
from vis_bench.measure.environment import environment
from vis_bench.measure.load import read_load
from vis_bench.measure.model_flops import clip_flops
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.methods.common.fast_paths import FastPaths, prepare_for_inference
from vis_bench.methods.common.ms_deform_attn_core import use_ms_deform_attn_core
from vis_bench.methods.ifc.authors_loop import authors_loop_results

HEIGHT, WIDTH = 360, 640
#: fast paths a method's code never consults (their ablation would only measure noise)
UNUSED_PATHS = {"ifc": ("lean_attention",)}
GEMM_SIZE = 4096
#: --dtype: float32 runs as built; the half types run under autocast, as a sweep's `dtype` does
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _frames(length: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (length, 3, HEIGHT, WIDTH), dtype=torch.uint8, generator=gen)


def _median(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, float, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


# -- paths: fast-path ablations against the GEMM peak ---------------------------------------------


def gemm_rates(
    size: int = GEMM_SIZE, dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> tuple[float, float]:
    """Multiply-adds per wall second and per CPU second (all threads) of one `size`^3 `torch.mm`.

    The faster of two timed calls, after one untimed call.
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(device, dtype)
    b = torch.randn(size, size, generator=gen).to(device, dtype)
    out = torch.empty(size, size, dtype=dtype, device=device)
    torch.mm(a, b, out=out)
    synchronize(device)
    best = (0.0, 0.0)
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        torch.mm(a, b, out=out)
        synchronize(device)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best = max(best, (size**3 / wall, size**3 / max(cpu, 1e-9)))
    return best


def _autocast(device: str, dtype: str) -> contextlib.AbstractContextManager:
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.split(":")[0], dtype=DTYPES[dtype])


def path_variants(method: str) -> list[tuple[str, FastPaths]]:
    """ "all on", "all off", and "-name" (all on but `name`) for each path the method uses."""
    on = FastPaths.all_on()
    skip = UNUSED_PATHS.get(method, ())
    variants = [("all on", on), ("all off", FastPaths.all_off())]
    variants += [(f"-{name}", on.without(name)) for name in FastPaths.names() if name not in skip]
    return variants


def build_case(method: str, frames: int, device: str = "cpu") -> tuple[Any, torch.Tensor]:
    """The method at its published defaults (R50), seeded random weights, and one clip."""
    torch.manual_seed(0)
    plugin = get_method(method).build({}).to(device)
    return plugin, plugin.preprocess(_frames(frames)).to(device)


def count_gmacs(plugin: Any, clip: torch.Tensor, paths: FastPaths) -> float:
    """GMACs of one `infer_clip` with `paths`, by the project's counter."""
    prepare_for_inference(plugin.model, paths)
    return clip_flops(plugin, clip)["gmacs_per_frame"] * int(clip.shape[0])


def _timed_call(plugin: Any, clip: torch.Tensor, device: str, dtype: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one `infer_clip`, synchronised on GPU."""
    synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    with _autocast(device, dtype):
        plugin.infer_clip(clip)
    synchronize(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def time_variants(
    cases: dict[str, tuple[Any, torch.Tensor]],
    rounds: int,
    gemm_size: int,
    device: str = "cpu",
    dtype: str = "fp32",
) -> tuple[dict[str, dict[str, list[tuple[float, float]]]], list[tuple[float, float]]]:
    """(wall, CPU) seconds of every (method, variant) and GEMM rates, alternating per round."""
    times: dict[str, dict[str, list[tuple[float, float]]]] = {m: {} for m in cases}
    gemm: list[tuple[float, float]] = []
    for method, (plugin, clip) in cases.items():
        for label, paths in path_variants(method):  # warm-up: oneDNN primitives, folded weights
            prepare_for_inference(plugin.model, paths)
            _timed_call(plugin, clip, device, dtype)
            times[method][label] = []
    for index in range(rounds):
        gemm.append(gemm_rates(gemm_size, DTYPES[dtype], device))
        for method, (plugin, clip) in cases.items():
            variants = path_variants(method)
            shift = index % len(variants)  # a different variant first in every round
            for label, paths in variants[shift:] + variants[:shift]:
                prepare_for_inference(plugin.model, paths)
                times[method][label].append(_timed_call(plugin, clip, device, dtype))
        print(f"round {index + 1}/{rounds} done, load {read_load().load1}", flush=True)
    return times, gemm


def summarise(
    times: dict[str, dict[str, list[tuple[float, float]]]],
    gemm: list[tuple[float, float]],
    gmacs: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """Medians, paired ratios to all-on, and fractions of the GEMM peak (wall and CPU time)."""
    peak = statistics.median(g[0] for g in gemm)
    peak_cpu = statistics.median(g[1] for g in gemm)
    methods = {}
    for method, by_variant in times.items():
        on = [wall for wall, _ in by_variant["all on"]]
        rows = {}
        for label, pairs in by_variant.items():
            walls = [wall for wall, _ in pairs]
            cpus = [cpu for _, cpu in pairs]
            work = gmacs[method]["all off" if label == "all off" else "all on"] * 1e9
            median, median_cpu = statistics.median(walls), statistics.median(cpus)
            rows[label] = {
                "seconds": walls,
                "cpu_seconds": cpus,
                "median_s": median,
                "min_s": min(walls),
                "median_cpu_s": median_cpu,
                "time_vs_all_on": statistics.median(w / o for w, o in zip(walls, on, strict=True)),
                "gmacs_per_s": work / median / 1e9,
                "fraction_of_gemm_peak": work / median / peak,
                "fraction_of_gemm_peak_cpu_time": work / median_cpu / peak_cpu,
            }
        methods[method] = {"gmacs": gmacs[method], "variants": rows}
    return {
        "gemm_peak_gmacs_per_s": peak / 1e9,
        "gemm_gmacs_per_s": [g[0] / 1e9 for g in gemm],
        "gemm_gmacs_per_cpu_s": [g[1] / 1e9 for g in gemm],
        "methods": methods,
    }


def format_summary(report: dict[str, Any]) -> str:
    """The markdown tables benchmarks/README.md quotes."""
    peak = report["gemm_peak_gmacs_per_s"]
    lines = [
        f"GEMM peak ({report['dtype']} torch.mm {report['gemm_size']}^3 on {report['device']}, "
        f"{report['threads']} threads): "
        f"median {peak:.1f} GMAC/s = {2 * peak:.1f} GFLOP/s "
        f"(rounds: {', '.join(f'{g:.1f}' for g in report['gemm_gmacs_per_s'])}); per CPU "
        f"second: {', '.join(f'{g:.1f}' for g in report['gemm_gmacs_per_cpu_s'])} GMAC",
        "",
        "| method | GMACs (on / off) | all on s | all off s | speed-up (paired) | GMAC/s "
        "| of GEMM peak | of GEMM peak, CPU time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for method, entry in report["methods"].items():
        on, off = entry["variants"]["all on"], entry["variants"]["all off"]
        g = entry["gmacs"]
        lines.append(
            f"| {method} | {g['all on']:.1f} / {g['all off']:.1f} | {on['median_s']:.2f} | "
            f"{off['median_s']:.2f} | {off['time_vs_all_on']:.2f}x | {on['gmacs_per_s']:.1f} | "
            f"{100 * on['fraction_of_gemm_peak']:.0f}% | "
            f"{100 * on['fraction_of_gemm_peak_cpu_time']:.0f}% |"
        )
    lines += ["", "| method | variant | median s | min s | CPU s | time / all on (paired) |"]
    lines.append("|---|---|---:|---:|---:|---:|")
    for method, entry in report["methods"].items():
        for label, row in entry["variants"].items():
            lines.append(
                f"| {method} | {label} | {row['median_s']:.2f} | {row['min_s']:.2f} | "
                f"{row['median_cpu_s']:.2f} | {row['time_vs_all_on']:.2f} |"
            )
    return "\n".join(lines)


def run_paths(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    provenance = start_provenance()
    cases = {method: build_case(method, args.frames, args.device) for method in args.methods}
    gmacs = {
        method: {
            "all on": count_gmacs(plugin, clip, FastPaths.all_on()),
            "all off": count_gmacs(plugin, clip, FastPaths.all_off()),
        }
        for method, (plugin, clip) in cases.items()
    }
    load_start = read_load()
    times, gemm = time_variants(cases, args.rounds, args.gemm_size, args.device, args.dtype)
    report = summarise(times, gemm, gmacs)
    report.update(
        date=datetime.date.today().isoformat(),
        device=args.device,
        dtype=args.dtype,
        clip=f"{args.frames}x{HEIGHT}x{WIDTH}",
        threads=torch.get_num_threads(),
        rounds=args.rounds,
        gemm_size=args.gemm_size,
        weights="random (seeded); published R50 architecture",
        load1_start=load_start.load1,
        load1_end=read_load().load1,
        environment=environment(args.device),
    )
    print(format_summary(report))
    if args.json:
        write_json_with_provenance(args.json, report, provenance)
        print(f"wrote {args.json}")


# -- the earlier modes ----------------------------------------------------------------------------


def seqformer_forward() -> Callable[[], object]:
    torch.manual_seed(0)
    plugin = get_method("seqformer").build({})
    prepare_for_inference(plugin.model)  # the fast paths of VIS_BENCH_FAST_PATHS (default: all)
    clip = plugin.preprocess(_frames(5))

    def run() -> object:
        with torch.inference_mode():
            return plugin.model(clip, orig_size=(WIDTH, HEIGHT))

    return run


def ifc_video(window: int, stride: int) -> Callable[[], object]:
    torch.manual_seed(0)
    plugin = get_method("ifc").build({})
    frames = plugin.preprocess(_frames(36))

    def run() -> object:
        with torch.inference_mode():
            return authors_loop_results(
                plugin, frames, 1, orig_size=(HEIGHT, WIDTH), window=window, stride=stride
            )

    return run


def run_seqformer_cores(args: argparse.Namespace) -> None:
    repeats = args.repeats or 5
    run = seqformer_forward()
    print("| threads | core | median s | min s | max s |")
    print("|---:|---|---:|---:|---:|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for core, fn in (("compiled", None), ("reference", "reference")):
            if fn is None:
                med, lo, hi = _median(run, repeats)
            else:
                with use_ms_deform_attn_core(None):
                    med, lo, hi = _median(run, repeats)
            print(f"| {threads} | {core} | {med:.3f} | {lo:.3f} | {hi:.3f} |")


def run_ifc_video(args: argparse.Namespace) -> None:
    repeats = args.repeats or 3
    torch.set_num_threads(args.threads[-1])
    print(f"threads: {torch.get_num_threads()}; 36 frames at {HEIGHT}x{WIDTH}")
    print("| mode | median s/frame | min | max |")
    print("|---|---:|---:|---:|")
    for label, window, stride in (("T=5 S=1", 5, 1), ("T=36", 36, 1)):
        med, lo, hi = _median(ifc_video(window, stride), repeats, warmup=0)
        print(f"| {label} | {med / 36:.3f} | {lo / 36:.3f} | {hi / 36:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("paths", "seqformer", "ifc"))
    parser.add_argument("--methods", nargs="+", default=["seqformer", "ifc", "mssts"])
    parser.add_argument("--rounds", type=int, default=5, help="paths: timed rounds")
    parser.add_argument("--frames", type=int, default=5, help="paths: clip length T")
    parser.add_argument("--gemm-size", type=int, default=GEMM_SIZE, help="paths: GEMM n")
    parser.add_argument("--json", default=None, help="paths: write the full report here")
    parser.add_argument("--device", default="cpu", help="paths: cpu or cuda[:N]")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="paths: autocast")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=None)
    args = parser.parse_args()
    if args.mode == "paths":
        args.threads = (args.threads or [2])[-1]
        run_paths(args)
    else:
        args.threads = args.threads or [1, 2]
        (run_seqformer_cores if args.mode == "seqformer" else run_ifc_video)(args)


@pytest.mark.parametrize("core", ["compiled", "reference"])
def test_seqformer_forward(benchmark, core: str) -> None:
    run = seqformer_forward()
    if core == "reference":
        with use_ms_deform_attn_core(None):
            benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    else:
        benchmark.pedantic(run, rounds=3, warmup_rounds=1)


if __name__ == "__main__":
    main()
