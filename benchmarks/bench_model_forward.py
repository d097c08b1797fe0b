"""Full-model CPU timings at the published sizes (random weights; weights do not change speed).

    python benchmarks/bench_model_forward.py seqformer [--repeats 5] [--threads 1 2]
    python benchmarks/bench_model_forward.py ifc [--repeats 3]
    pytest benchmarks/bench_model_forward.py --benchmark-only      # pytest-benchmark form

seqformer: one R50 forward of a T=5 clip at 360x640, with the compiled deformable-attention
kernel (the default core) and with the pure-PyTorch reference core, per thread count.
ifc: the authors' video loop (backbone once per video) on a 36-frame 360x640 video, near-online
(T=5, S=1) versus offline (T=36), as seconds per frame.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import pytest
import torch

from vis_bench.methods.common.ms_deform_attn_core import use_ms_deform_attn_core
from vis_bench.methods.ifc.authors_loop import authors_loop_results
from vis_bench.registry import get_method

HEIGHT, WIDTH = 360, 640


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


def seqformer_forward() -> Callable[[], object]:
    torch.manual_seed(0)
    plugin = get_method("seqformer").build({})
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=("seqformer", "ifc"))
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if args.model == "seqformer":
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
    else:
        repeats = args.repeats or 3
        torch.set_num_threads(args.threads[-1])
        print(f"threads: {torch.get_num_threads()}; 36 frames at {HEIGHT}x{WIDTH}")
        print("| mode | median s/frame | min | max |")
        print("|---|---:|---:|---:|")
        for label, window, stride in (("T=5 S=1", 5, 1), ("T=36", 36, 1)):
            med, lo, hi = _median(ifc_video(window, stride), repeats, warmup=0)
            print(f"| {label} | {med / 36:.3f} | {lo / 36:.3f} | {hi / 36:.3f} |")


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
