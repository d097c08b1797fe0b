"""Many compressed RLE masks decoded at once, and exact intersections of many mask pairs.

A thin layer over the compiled `_rle_kernel` (built by `pip install`, see setup.py). Every
function returns None when the kernel is missing or an input mask is not well formed (a
string outside COCO's format, or runs that do not cover the frame): the callers then take the
pycocotools path, which is exact for well-formed masks too and defines what malformed input
gives. So results never depend on whether the kernel was built; only speed does.

`VIS_BENCH_RLE_KERNEL=0` in the environment turns the kernel off (to compare both paths).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

try:
    from vis_bench.eval.rle import _rle_kernel
except ImportError:  # built without a C compiler: pycocotools does the work
    _rle_kernel = None


def available() -> bool:
    """True when the compiled kernel is built and not turned off."""
    return _rle_kernel is not None and os.environ.get("VIS_BENCH_RLE_KERNEL", "1") != "0"


@dataclass(frozen=True)
class DecodedMasks:
    """Masks as one flat run array: mask i's runs are `counts[offsets[i]:offsets[i + 1]]`
    (background first, column-major), kept only where `kept` is True (None: all). `first`/
    `end` bound its foreground in linear pixel index (0, 0 when empty); `area` is its pixel
    count (every mask)."""

    counts: np.ndarray  # uint32
    offsets: np.ndarray  # int64 [n + 1]
    first: np.ndarray  # int64 [n]
    end: np.ndarray  # int64 [n]
    area: np.ndarray  # float64 [n]
    kept: np.ndarray | None = None  # bool [n]

    def keeps(self, rows: np.ndarray) -> bool:
        """True when the runs of all `rows` were kept."""
        return self.kept is None or bool(self.kept[rows].all())

    def __len__(self) -> int:
        return len(self.area)


def decode(segs: list[dict], keep: np.ndarray | None = None) -> DecodedMasks | None:
    """Decode compressed RLE dicts ({"size": [h, w], "counts": str or bytes}); None when the
    kernel is unavailable or any mask is malformed. Every mask is parsed (areas, spans); the
    runs are stored only for the masks `keep` (bool [n]) marks, which saves memory traffic
    when few of them are intersected."""
    if not available():
        return None
    if len(segs) == 0:
        none = np.zeros(0, dtype=np.int64)
        return DecodedMasks(np.zeros(0, np.uint32), np.zeros(1, np.int64), none, none, np.zeros(0))
    if keep is not None:
        keep = np.ascontiguousarray(keep, dtype=bool)
    decoded = _rle_kernel.decode(
        segs if isinstance(segs, list) else list(segs),
        None if keep is None else keep.view(np.uint8),
    )
    if decoded is False:
        return None
    _, counts, offsets, first, end, area = decoded
    n = len(segs)
    return DecodedMasks(
        counts=np.frombuffer(counts, dtype=np.uint32),
        offsets=np.frombuffer(offsets, dtype=np.int64, count=n + 1),
        first=np.frombuffer(first, dtype=np.int64, count=n),
        end=np.frombuffer(end, dtype=np.int64, count=n),
        area=np.frombuffer(area, dtype=np.float64, count=n),
        kept=keep,
    )


def areas(segs: list[dict]) -> np.ndarray | None:
    """Pixel counts of compressed RLE dicts (float64); None as for `decode`."""
    decoded = decode(segs, keep=np.zeros(len(segs), dtype=bool))  # no runs stored
    return None if decoded is None else decoded.area


def plain_result_frames(segs: list) -> bool | None:
    """True when every entry is None or a dict with a str `counts` and a two-item list `size`
    (exact types); None when the kernel is unavailable."""
    return _rle_kernel.plain_result_frames(segs) if available() else None


def parse_count_lists(
    raw: bytes, body_starts: np.ndarray, body_ends: np.ndarray, limit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[bytes]] | None:
    """Parse the JSON integer lists whose bodies are raw[body_starts[k]:body_ends[k]] (see
    count_lists for the accepted layouts; values below `limit`): (uint32 values of all lists
    plus two spare zeros, int64 bounds [n + 1], float64 odd-position sums, compressed RLE
    string of each list). None when the kernel is unavailable or a list is not accepted."""
    if not available() or len(body_starts) == 0:
        return None
    parsed = _rle_kernel.parse_count_lists(
        raw,
        np.ascontiguousarray(body_starts, dtype=np.int64),
        np.ascontiguousarray(body_ends, dtype=np.int64),
        int(limit),
    )
    if parsed is False:
        return None
    _, values, bounds, foreground, text, text_bounds = parsed
    n = len(body_starts)
    edges = np.frombuffer(text_bounds, dtype=np.int64, count=n + 1).tolist()
    return (
        np.frombuffer(values, dtype=np.uint32),
        np.frombuffer(bounds, dtype=np.int64, count=n + 1),
        np.frombuffer(foreground, dtype=np.float64, count=n),
        [text[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)],
    )


def intersections(
    a: DecodedMasks, a_rows: np.ndarray, b: DecodedMasks, b_rows: np.ndarray
) -> np.ndarray:
    """|a[a_rows[k]] ∩ b[b_rows[k]]| for every k (float64, exact integers). The masks of each
    pair must have the same size, and their runs must have been kept."""
    a_rows = np.ascontiguousarray(a_rows, dtype=np.int64)
    b_rows = np.ascontiguousarray(b_rows, dtype=np.int64)
    if len(a_rows) == 0:
        return np.zeros(0)
    if not (a.keeps(a_rows) and b.keeps(b_rows)):
        raise ValueError("intersections of masks whose runs were not kept")
    out = _rle_kernel.intersections(
        a.counts, a.offsets, a.first, a.end, b.counts, b.offsets, b.first, b.end, a_rows, b_rows
    )
    return np.frombuffer(out, dtype=np.float64, count=len(a_rows))
