"""The machine's speed beside every FPS: a fixed reference workload timed on the cell's device.

An FPS taken on a shared machine is the method's speed times the share of the machine it got.
The second factor is invisible in the figure itself, so before and after each timed round the
worker times a fixed piece of arithmetic on the same device with the same threads: a matrix
product and a convolution of fixed sizes in fp32, a fraction of a second. Its speed (GFLOP/s)
moves with whatever else the machine is doing. Every record carries it, a cell whose reference
moved during its rounds is marked noisy, and two runs' FPS are only set against each other after
dividing out their reference speeds (report/speed_trust.py).

The workload is the same everywhere (the sizes below are part of its definition), so its speed
also tells two machines apart. It measures the machine, not the method: it does not depend on the
cell's dtype, and it runs outside the timed region.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.inference.stopwatch import synchronize

#: the workload's definition: (M, K, N) of the product, (C, H, W) and kernel of the convolution
GEMM_SHAPE = (512, 512, 512)
CONV_SHAPE = (32, 96, 96)
CONV_KERNEL = 3
#: repetitions timed together (after one untimed): a reading is their total time, about 60 ms on
#: two CPU cores, long enough that the scheduler's sharing of the cores shows in it (a median of
#: short repetitions would pick the ones that happened to run alone)
REPETITIONS = 16
#: a reading repeats its block of REPETITIONS until this many seconds have passed: on a GPU one
#: block takes about a millisecond, where launch latency and clock changes alone moved the reading
#: by up to 85 % between two rounds of the same cell (the first H100 run, results/gpu_table/), and
#: every cell was marked noisy; on two CPU cores one block already takes longer than this
MIN_SECONDS = 0.05
#: the workload's version: change it whenever a size above changes (readings of different
#: versions are never compared)
VERSION = 1


def workload_flops() -> float:
    """Floating-point operations of one repetition (a multiply-add counts two)."""
    m, k, n = GEMM_SHAPE
    channels, height, width = CONV_SHAPE
    return 2.0 * m * k * n + 2.0 * channels * channels * CONV_KERNEL**2 * height * width


@dataclass(frozen=True)
class ReferenceReading:
    """One reading: the mean seconds of a repetition and what that is in GFLOP/s."""

    seconds: float
    gflops: float
    device: str
    threads: int
    repetitions: int = REPETITIONS

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "gflops": self.gflops,
            "device": self.device,
            "threads": self.threads,
            "repetitions": self.repetitions,
            "version": VERSION,
        }


def _inputs(device: str) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    m, k, n = GEMM_SHAPE
    channels, height, width = CONV_SHAPE
    shapes = [(m, k), (k, n), (1, channels, height, width)]
    shapes.append((channels, channels, CONV_KERNEL, CONV_KERNEL))
    return tuple(torch.randn(s, generator=generator).to(device) for s in shapes)


def read_reference(device: str = "cpu") -> ReferenceReading:
    """Time the reference workload now, on `device` with the process's current threads."""
    a, b, image, weight = _inputs(device)

    def once() -> None:
        torch.mm(a, b)
        torch.nn.functional.conv2d(image, weight, padding=CONV_KERNEL // 2)

    with torch.no_grad():
        once()
        synchronize(device)
        start = time.perf_counter()
        repetitions, elapsed = 0, 0.0
        while repetitions == 0 or elapsed < MIN_SECONDS:
            for _ in range(REPETITIONS):
                once()
            synchronize(device)
            repetitions += REPETITIONS
            elapsed = time.perf_counter() - start
        seconds = elapsed / repetitions
    gflops = workload_flops() / seconds / 1e9 if seconds > 0 else float("inf")
    return ReferenceReading(seconds, gflops, str(device), torch.get_num_threads(), repetitions)


def spread(values: list[float]) -> float | None:
    """(max - min) / median of positive readings: how far the machine's speed moved (None for
    fewer than two readings)."""
    values = [v for v in values if v and v > 0]
    if len(values) < 2:
        return None
    return (max(values) - min(values)) / statistics.median(values)
