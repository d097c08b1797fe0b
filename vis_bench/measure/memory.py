"""Memory of one cell's worker process: its peak RSS, what the built model holds, and the rise
during inference; CUDA max allocated on GPU.

Each cell runs in a fresh worker, so the process high-water mark is the cell's own. Linux lets a
process reset its RSS high-water mark (`/proc/self/clear_refs`, "5"), which separates the weights
(RSS once the model is built) from what inference adds on top (activations, buffers).
"""

from __future__ import annotations

import re
import resource
import sys
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")
_MIB = 1024 * 1024


def peak_rss_mb() -> float:
    """The process's resident-set high-water mark since it started, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MIB if sys.platform == "darwin" else peak / 1024  # macOS: bytes, Linux: KiB


def _status_kib(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def rss_mb() -> float | None:
    """Resident memory now, in MiB (None where /proc is unavailable)."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024


def reset_peak_rss() -> bool:
    """Restart the RSS high-water mark from the current RSS; False where the OS cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_since_reset_mb() -> float | None:
    """The RSS high-water mark since `reset_peak_rss` (or since start), in MiB."""
    kib = _status_kib("VmHWM")
    return None if kib is None else kib / 1024


def reset_cuda_peak(device: str) -> None:
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats(torch.device(device))


def cuda_peak_mb(device: str) -> float | None:
    """CUDA max allocated since the last reset, in MiB; None on CPU."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated(torch.device(device)) / _MIB
    return None
