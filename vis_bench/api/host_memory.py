"""Keep freed memory in the process: the harness's default and the `reuse_memory` fast path.

A CPU forward allocates over a gigabyte of fresh activations per clip (a ResNet-50 clip model
at T=5, 360x640). glibc serves blocks above its mmap threshold (at most 32 MB) with a new mapping
and unmaps them when freed, so every clip page-faults them in again: about a tenth of the
forward's time went to the kernel zeroing pages (measured: benchmarks/README.md). With the
setting on, glibc serves every block from its heap and keeps what is freed (`mallopt`:
M_MMAP_MAX 0, trim threshold 1 GiB), so the next clip reuses warm pages. The cost is resident
memory: freed blocks are not returned to the OS and the heap fragments a little (peak RSS about
15% higher).

The harness's own buffers meet the same: a 720x1280 frame resized in float is an 11 MB block,
mapped and unmapped per frame, its pages zeroed by the kernel each time
(benchmarks/bench_harness_ceiling.py runs the pass with and without the setting). So a pass
starts with the setting on (`reuse_freed_memory_by_default`) unless something in the process
chose already: a method's `reuse_memory` switch, set when its model is prepared, stays as chosen.

It is a process-wide setting; switching it off again restores glibc's settings as they stand
after warm-up (mmap threshold 32 MB, trim 64 MB) and returns the free heap. Other C libraries:
nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
KEEP_TRIM_THRESHOLD = 1 << 30
#: glibc's defaults once its dynamic threshold has grown to the maximum (64-bit)
DEFAULT_MMAP_THRESHOLD = 32 << 20
DEFAULT_TRIM_THRESHOLD = 2 * DEFAULT_MMAP_THRESHOLD
DEFAULT_MMAP_MAX = 65536

_state: bool | None = None  # None: never changed in this process


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def reuse_freed_memory(enabled: bool) -> bool:
    """Keep freed blocks in the heap (True) or restore glibc's warmed-up behaviour (False).

    Returns whether the setting is now in effect (False where the C library is not glibc).
    """
    global _state
    if not enabled and _state is None:
        _state = False  # chosen off: nothing to restore, and the harness's default gives way
        return False
    if enabled == bool(_state):
        return bool(_state)
    libc = _glibc()
    if libc is None:
        return False
    if enabled:
        libc.mallopt(M_MMAP_MAX, 0)
        libc.mallopt(M_TRIM_THRESHOLD, KEEP_TRIM_THRESHOLD)
    else:
        libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
        libc.mallopt(M_MMAP_THRESHOLD, DEFAULT_MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
        libc.malloc_trim(0)
    _state = enabled
    return enabled


def reuse_freed_memory_by_default() -> bool:
    """Switch the setting on unless this process has chosen already (a method's `reuse_memory`
    switch wins); returns whether it is in effect."""
    if _state is None:
        return reuse_freed_memory(True)
    return _state


def freed_memory_kept() -> bool:
    """Whether freed blocks stay in the process now."""
    return bool(_state)
