"""Peak memory: process RSS high-water mark on CPU, CUDA max allocated on GPU."""

from __future__ import annotations

import resource
import sys

import torch


def peak_rss_mb() -> float:
    """The process's resident-set high-water mark so far, in MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def reset_cuda_peak(device: str) -> None:
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats(torch.device(device))


def cuda_peak_mb(device: str) -> float | None:
    """CUDA max allocated since the last reset, in MiB; None on CPU."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated(torch.device(device)) / (1024 * 1024)
    return None
