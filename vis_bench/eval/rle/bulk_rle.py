"""Many compressed RLE masks decoded at once, and exact intersections of many mask pairs.

A thin layer over the compiled `_rle_kernel` (built by `pip install`, see setup.py). Every
function returns None when the kernel is missing or an input mask is not well formed (a
string outside COCO's format, or runs that do not cover the frame): the callers then take the
pycocotools path, which is exact for well-formed masks too and defines what malformed input
gives. So results never depend on whether the kernel was built; only speed does.

`VIS_BENCH_RLE_KERNEL=0` in the environment turns the kernel off (to compare both paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vis_bench.eval.rle import text_cuts
from vis_bench.eval.rle.text_cuts import _rle_kernel


def available() -> bool:
    """True when the compiled kernel is built and not turned off."""
    return text_cuts.kernel_on()


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
        return _no_masks()
    if keep is not None:
        keep = np.ascontiguousarray(keep, dtype=bool)
    decoded = _rle_kernel.decode(
        segs if isinstance(segs, list) else list(segs),
        None if keep is None else keep.view(np.uint8),
    )
    return _decoded_masks(decoded, len(segs), keep)


def decode_text(
    raw: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    totals: np.ndarray,
    keep: np.ndarray | None = None,
) -> DecodedMasks | None:
    """`decode` for mask strings lying in a JSON text, raw[starts[i]:ends[i]] (backslashes
    doubled), of totals[i] pixels each; runs kept where `keep` says (default all). None as
    for `decode`."""
    if not available():
        return None
    n = len(starts)
    if n == 0:
        return _no_masks()
    if keep is not None:
        keep = np.ascontiguousarray(keep, dtype=bool)
    decoded = _rle_kernel.decode_text(
        raw,
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(ends, dtype=np.int64),
        np.ascontiguousarray(totals, dtype=np.int64),
        None if keep is None else keep.view(np.uint8),
    )
    return _decoded_masks(decoded, n, keep)


def _no_masks() -> DecodedMasks:
    """What decoding no mask gives (the kernel's buffers of no element are not empty)."""
    none = np.zeros(0, dtype=np.int64)
    return DecodedMasks(np.zeros(0, np.uint32), np.zeros(1, np.int64), none, none, np.zeros(0))


def _decoded_masks(decoded: Any, n: int, keep: np.ndarray | None) -> DecodedMasks | None:
    """The kernel's decode output for n masks as DecodedMasks; None where it said False."""
    if decoded is False:
        return None
    _, counts, offsets, first, end, area = decoded
    return DecodedMasks(
        counts=np.frombuffer(counts, dtype=np.uint32),
        offsets=np.frombuffer(offsets, dtype=np.int64, count=n + 1),
        first=np.frombuffer(first, dtype=np.int64, count=n),
        end=np.frombuffer(end, dtype=np.int64, count=n),
        area=np.frombuffer(area, dtype=np.float64, count=n),
        kept=keep,
    )


def result_strings_from(cut: tuple | None) -> tuple[bytes, np.ndarray, np.ndarray] | None:
    """(remainder, starts, ends) of a results text's `"counts"` strings (result_strings.py)
    from the kernel's cut (text_cuts.result_strings_cut); None when there is none: the kernel
    unavailable, nothing cut, or a string not plain."""
    if cut is None:
        return None
    remainder, starts, ends, n = cut
    return (
        remainder,
        np.frombuffer(starts, dtype=np.int64, count=n),
        np.frombuffer(ends, dtype=np.int64, count=n),
    )


def areas(segs: list[dict]) -> np.ndarray | None:
    """Pixel counts of compressed RLE dicts (float64); None as for `decode`."""
    decoded = decode(segs, keep=np.zeros(len(segs), dtype=bool))  # no runs stored
    return None if decoded is None else decoded.area


def plain_result_frames(segs: list) -> bool | None:
    """True when every entry is None or a dict with a str `counts` and a two-item list `size`
    (exact types); None when the kernel is unavailable."""
    return _rle_kernel.plain_result_frames(segs) if available() else None


def frame_columns(tracks: list[list], with_marker: bool) -> tuple | None:
    """(lengths, flat index of each present frame, heights, widths, markers or None, present
    entries) of tracks of frame entries, int64 arrays (see the kernel's `frame_columns`); None
    when the kernel is unavailable or an entry's size is not a list of two ints."""
    if not available():
        return None
    columns = _rle_kernel.frame_columns(tracks, with_marker)
    if columns is False:
        return None
    lengths, present, height, width, source, segs = columns
    n = len(segs)
    as_int64 = [
        np.frombuffer(b, dtype=np.int64, count=k)
        for b, k in ((lengths, len(tracks)), (present, n), (height, n), (width, n))
    ]
    markers = None if source is None else np.frombuffer(source, dtype=np.int64, count=n)
    return (*as_int64, markers, segs)


def plain_marker_frames(segs: list, next_marker: int) -> int:
    """The marker after a result's frames when all are null or plain marker dicts holding
    `next_marker`, `next_marker + 1`, ... (result_strings.py); -1 otherwise. Needs the kernel."""
    return _rle_kernel.plain_marker_frames(segs, next_marker)


@dataclass
class CutLists:
    """What the kernel's `cut_count_lists` gives: the remainder with each cut k replaced by
    `"\\u0000":k`, the int64 start and end of each list's text, float64 odd-position sums,
    each list as a compressed RLE string, and the lists' values as the decoder would give them
    back from those strings (`runs`, with `pixels`: each list's sum, -1 for an empty list)."""

    remainder: bytes
    body_starts: np.ndarray
    body_ends: np.ndarray
    foreground: np.ndarray
    strings: list[bytes]
    runs: DecodedMasks
    pixels: np.ndarray


def count_lists_from(cut: tuple | None) -> CutLists | None:
    """The arrays of the kernel's cut of a GT text's `"counts": [...]` lists
    (text_cuts.count_lists_cut: count_lists states the accepted layouts; parsed on two threads
    without the GIL); None when there is none: the kernel unavailable, nothing cut, or a list
    not accepted."""
    if cut is None:
        return None
    remainder, body_starts, body_ends, foreground, strings, n, runs, offsets, first, end, pixels = (
        cut
    )
    foreground = np.frombuffer(foreground, dtype=np.float64, count=n)
    offsets = np.frombuffer(offsets, dtype=np.int64, count=n + 1)
    return CutLists(
        remainder=remainder,
        body_starts=np.frombuffer(body_starts, dtype=np.int64, count=n),
        body_ends=np.frombuffer(body_ends, dtype=np.int64, count=n),
        foreground=foreground,
        strings=strings,
        runs=DecodedMasks(
            counts=np.frombuffer(runs, dtype=np.uint32, count=int(offsets[-1])),
            offsets=offsets,
            first=np.frombuffer(first, dtype=np.int64, count=n),
            end=np.frombuffer(end, dtype=np.int64, count=n),
            area=foreground,
        ),
        pixels=np.frombuffer(pixels, dtype=np.int64, count=n),
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


def intersections_text(
    raw: Any,
    starts: np.ndarray,
    ends: np.ndarray,
    a: DecodedMasks,
    a_rows: np.ndarray,
    b: DecodedMasks,
    b_rows: np.ndarray,
) -> np.ndarray:
    """`intersections` where mask i of side A is the string raw[starts[i]:ends[i]] of a JSON
    text and `a` its decoding with no runs kept (`decode_text`: the spans). Each string is
    decoded again as its pairs come, so that A's runs are never stored whole."""
    a_rows = np.ascontiguousarray(a_rows, dtype=np.int64)
    b_rows = np.ascontiguousarray(b_rows, dtype=np.int64)
    if len(a_rows) == 0:
        return np.zeros(0)
    if not b.keeps(b_rows):
        raise ValueError("intersections of masks whose runs were not kept")
    out = _rle_kernel.intersections_text(
        raw,
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(ends, dtype=np.int64),
        a.first,
        a.end,
        b.counts,
        b.offsets,
        b.first,
        b.end,
        a_rows,
        b_rows,
    )
    return np.frombuffer(out, dtype=np.float64, count=len(a_rows))
