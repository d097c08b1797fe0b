"""Linear layers with bias, ReLU and residual: BLAS plus in-place epilogue, or oneDNN fused.

    python benchmarks/bench_linear_epilogue.py [--threads 1] [--repeats 9]

The `lean_linear` fast path runs a linear layer as PyTorch's BLAS product (`F.linear`: MKL here)
followed by an in-place ReLU or residual add. oneDNN's fused linear (`mkldnn._linear_pointwise`,
what PyTorch's CPU compiler emits) folds those into the product instead. This times both at the
shapes of SeqFormer's encoder (T=2 clip: 9,640 tokens) and decoder (600 box queries), as
multiply-adds per second of the process's CPU time (robust to a busy machine) and of wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

#: (rows, in, out, epilogue) of the encoder and decoder linears
SHAPES = [
    (9640, 256, 256, "residual"),  # value / output projection
    (9640, 256, 384, "none"),  # merged sampling offsets + attention weights
    (9640, 256, 1024, "relu"),  # FFN linear1
    (9640, 1024, 256, "residual"),  # FFN linear2
    (600, 256, 1024, "relu"),
    (600, 1024, 256, "residual"),
]


def _rate(fn: Callable[[], object], macs: int, repeats: int) -> tuple[float, float]:
    """Median GMAC per CPU second and per wall second."""
    fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return macs / statistics.median(cpu) / 1e9, macs / statistics.median(wall) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    fused = torch.ops.mkldnn._linear_pointwise
    print(f"{torch.get_num_threads()} threads; GMAC per CPU second / per wall second")
    print("| rows x in -> out | epilogue | F.linear + in place | oneDNN fused |")
    print("|---|---|---:|---:|")
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for rows, cin, cout, epilogue in SHAPES:
            x = torch.randn(rows, cin, generator=gen)
            w = torch.randn(cout, cin, generator=gen) / cin**0.5
            b = torch.randn(cout, generator=gen)
            r = torch.randn(rows, cout, generator=gen) if epilogue == "residual" else None

            def blas(epilogue=epilogue, x=x, w=w, b=b, r=r):
                out = F.linear(x, w, b)
                if epilogue == "relu":
                    return out.relu_()
                return out if r is None else out.add_(r)

            def onednn(epilogue=epilogue, x=x, w=w, b=b, r=r):
                if epilogue == "residual":
                    return fused.binary(x, r, w, b, "add")
                return fused(x, w, b, "relu" if epilogue == "relu" else "none", [], "")

            macs = rows * cin * cout
            cells = [_rate(fn, macs, args.repeats) for fn in (blas, onednn)]
            print(
                f"| {rows} x {cin} -> {cout} | {epilogue} | "
                + " | ".join(f"{c:.1f} / {w:.1f}" for c, w in cells)
                + " |"
            )


if __name__ == "__main__":
    main()
