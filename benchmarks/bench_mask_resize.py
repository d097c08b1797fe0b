"""Which dtype to resize mask logits in: cost per track, and exactness on the parity fixtures.

    python benchmarks/bench_mask_resize.py [--repeats 5] [--threads 2]

Post-processing resizes every kept track's stride-4 mask logits to the video size (bilinear)
and thresholds them. A cheaper dtype is only acceptable if the thresholded masks stay the same,
so each dtype is checked on the golden fixtures' post-processing cases (SeqFormer's top-10
queries of inference.py, IFC's track logits), counting pixels that differ from float32, and
timed on one 36-frame 720x1280 track. SeqFormer's threshold (`sigmoid > 0.5`) is timed with a
new output tensor and in place on the resized temporary (what post-processing does), each on a
fresh copy; `--reuse-memory` runs with the `reuse_memory` fast path's allocator setting.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from vis_bench.api.host_memory import reuse_freed_memory

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "golden"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resize(logits: torch.Tensor, size: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """[N, h, w] logits -> [N, H, W] float32 logits resized in `dtype`."""
    out = F.interpolate(logits[:, None].to(dtype), size=size, mode="bilinear", align_corners=False)
    return out[:, 0].float()


def fixture_cases() -> list[tuple[str, torch.Tensor, tuple[int, int]]]:
    """(name, logits [N, h, w], video size) of every post-processing case of the fixtures."""
    cases = []
    seqformer = torch.load(FIXTURES / "seqformer/public/postprocess_inputs.pt", weights_only=True)
    for case in seqformer["cases"]:
        video = case["video"]
        masks = case["pred_masks"][0]  # [Nq, T, h, w]
        cases.append(
            (f"seqformer {case['name']}", masks.flatten(0, 1), (video["height"], video["width"]))
        )
    ifc = torch.load(FIXTURES / "ifc/public/postprocess.pt", weights_only=True)
    for name, case in ifc.items():
        logits = torch.nan_to_num(case["video_interim_mask_logits"], nan=-1e4)
        cases.append((f"ifc {name}", logits.flatten(0, 1), tuple(case["orig_size"])))
    return cases


def exactness() -> list[str]:
    lines = ["| fixture case | pixels | " + " | ".join(f"{d} flipped" for d in DTYPES) + " |"]
    lines.append("|---|---:|" + "---:|" * len(DTYPES))
    for name, logits, size in fixture_cases():
        reference = resize(logits, size, torch.float32)
        cells = []
        for dtype in DTYPES.values():
            got = resize(logits, size, dtype)
            cells.append(str(int(((got.sigmoid() > 0.5) != (reference.sigmoid() > 0.5)).sum())))
        lines.append(f"| {name} | {reference.numel():,} | " + " | ".join(cells) + " |")
    return lines


def _time(fn: Callable[[torch.Tensor], object], make: Callable[[], torch.Tensor], repeats: int):
    """Median ms of `fn(make())`, timing `fn` only."""
    times = []
    for _ in range(repeats + 1):
        arg = make()
        start = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]) * 1e3


def speed(repeats: int) -> list[str]:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(36, 180, 320, generator=gen) * 5  # one track, stride 4 of 720x1280
    size = (720, 1280)
    lines = ["| dtype | resize ms | sigmoid > 0.5 ms | in-place sigmoid_ > 0.5 ms |"]
    lines.append("|---|---:|---:|---:|")
    for label, dtype in DTYPES.items():
        resized = resize(logits, size, dtype)
        lines.append(
            f"| {label} | {_time(lambda x, d=dtype: resize(x, size, d), lambda: logits, repeats):.0f}"
            f" | {_time(lambda x: x.sigmoid() > 0.5, resized.clone, repeats):.0f}"
            f" | {_time(lambda x: x.sigmoid_() > 0.5, resized.clone, repeats):.0f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reuse-memory", action="store_true", help="keep freed memory (glibc)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.reuse_memory:
        reuse_freed_memory(True)
    print("\n".join(exactness()))
    print()
    print(
        f"one track, 36 x 180x320 -> 720x1280, {torch.get_num_threads()} threads, "
        f"reuse_memory {'on' if args.reuse_memory else 'off'}, median ms:"
    )
    print("\n".join(speed(args.repeats)))


if __name__ == "__main__":
    main()
