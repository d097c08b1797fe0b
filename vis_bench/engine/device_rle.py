"""COCO run lengths computed where the masks are (a GPU, or the CPU), strings built on the host.

A batch of binary masks `[n, H, W]` becomes its uncompressed COCO counts with a few torch
operations on the masks' device (column-major order, the first count one of zeros, 0 when the
first pixel is set): neighbours compared, one `nonzero` for the batch (on a GPU the one point
where the host waits), the boundaries' differences taken there, and one copy of the counts and
of the masks' non-empty flags to the host per batch. The compressed strings are then written
by the project's `compress_counts` (pycocotools' bytes exactly), on the host, in a background
thread (`EncodingThread`) while the device goes on with the next clip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import torch

from vis_bench.eval.rle.compress import MAX_COMPRESSIBLE, compress_counts
from vis_bench.formats.rle import to_compressed

T = TypeVar("T")


def run_lengths(binary: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary masks [n, H, W] (bool or 0/1, any device) -> (counts, bounds, non_empty) on the
    host: mask k's COCO counts are `counts[bounds[k]:bounds[k + 1]]` (int64), `non_empty[k]`
    whether it has a foreground pixel."""
    n, height, width = binary.shape
    pixels = height * width
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, bool)
    flat = binary.transpose(1, 2).reshape(n, pixels).bool()  # column-major, as COCO
    device = flat.device
    changes = torch.nonzero(flat[:, 1:] != flat[:, :-1])  # [k, (mask, position - 1)]
    masks = torch.arange(n, device=device)
    # a run boundary at every change, at 0 and at the end of each mask, and a second one at 0
    # where the first pixel is set (its count of zeros is 0)
    first_set = masks[flat[:, 0]]
    owner = torch.cat([masks, first_set, changes[:, 0], masks])
    where = torch.cat(
        [
            torch.zeros_like(masks),
            torch.zeros_like(first_set),
            changes[:, 1] + 1,
            torch.full_like(masks, pixels),
        ]
    )
    key, order = torch.sort(owner * (pixels + 1) + where)
    owner = owner[order]
    inside = owner[1:] == owner[:-1]
    counts = (key[1:] - key[:-1])[inside]
    per_mask = torch.bincount(owner, minlength=n) - 1
    non_empty = flat.any(1)
    packed = torch.cat([counts, per_mask, non_empty.long()]).cpu().numpy()  # the one copy
    counts, per_mask, non_empty = np.split(packed, [len(counts), len(counts) + n])
    bounds = np.zeros(n + 1, np.int64)
    np.cumsum(per_mask, out=bounds[1:])
    return counts, bounds, non_empty.astype(bool)


def rle_strings(counts: np.ndarray, bounds: np.ndarray, height: int, width: int) -> list[str]:
    """The compressed `counts` strings of `run_lengths`' output, byte for byte pycocotools'."""
    if height * width < MAX_COMPRESSIBLE:
        return [s.decode("ascii") for s in compress_counts(counts.astype(np.uint32), bounds)]
    # counts too large for the vectorised writer: pycocotools' own, mask by mask
    return [
        to_compressed({"counts": counts[a:b].tolist(), "size": [height, width]})["counts"].decode()
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    ]


class EncodingThread:
    """One background thread encoding final masks, in the order they were given, while the
    main thread goes on with the next clip: the compressed strings of a device's run lengths
    (`rle_strings`), or on the CPU the compiled resize-and-encode (finalise.py)."""

    _lock = threading.Lock()
    _pool: ThreadPoolExecutor | None = None

    @classmethod
    def submit(cls, fn: Callable[..., T], *args: Any) -> Future[T]:
        with cls._lock:
            if cls._pool is None:
                cls._pool = ThreadPoolExecutor(1, thread_name_prefix="vis-bench-encoding")
        return cls._pool.submit(fn, *args)
