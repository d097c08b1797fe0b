"""Compressed RLE strings of many uncompressed count lists at once, byte for byte pycocotools'.

The metric's bulk GT reader (count_lists) turns a released file's count lists into the strings
pycocotools would write, with a few numpy passes instead of one pycocotools call per mask.
"""

from __future__ import annotations

import numpy as np

from vis_bench.eval.rle.text_cuts import MAX_COMPRESSIBLE

# A value takes n characters when it fits in 5n-bit two's complement: `rank` below these.
_CHAR_LIMITS = np.array([16 * 32**k for k in range(7)], dtype=np.int64)
__all__ = ["MAX_COMPRESSIBLE", "compress_counts"]


def compress_counts(values: np.ndarray, bounds: np.ndarray) -> list[bytes]:
    """Compressed `counts` strings of many uncompressed count lists at once, byte for byte what
    pycocotools writes (`rleToString`); list k is `values[bounds[k]:bounds[k + 1]]` (uint32,
    all below MAX_COMPRESSIBLE).

    One pycocotools call per mask costs microseconds of Python each; this encodes a whole GT
    file's masks with a few numpy passes. The format: from the fourth count of a list on, a
    count is written minus the count two places before it; each number goes out in 5-bit
    groups, least significant first, 0x20 flagging that more follow, plus 48.
    """
    values = np.asarray(values, dtype=np.uint32)
    if len(values) and int(values.max()) >= MAX_COMPRESSIBLE:
        raise ValueError(f"counts must be below {MAX_COMPRESSIBLE} to be compressed here")
    x = np.empty(len(values), dtype=np.int32)  # differences of counts below 2**24 fit
    np.subtract(values[2:], values[:-2], out=x[2:].view(np.uint32))
    x[:2] = values[:2]
    head = (bounds[:-1, None] + np.arange(3)).ravel()
    head = head[head < np.repeat(bounds[1:], 3)]
    x[head] = values[head]
    chars = x.astype(np.uint8)
    chars &= 31
    # Values outside [-16, 16) need more than one character; few do (counts change slowly).
    multi = np.flatnonzero(x.view(np.uint32) + np.uint32(16) >= 32)
    big = x[multi].astype(np.int64)
    n_chars = 1 + np.searchsorted(_CHAR_LIMITS, big ^ (big >> 63), side="right")
    chars[multi] |= 32
    chars += 48
    if len(multi):
        chars = np.insert(chars, np.repeat(multi + 1, n_chars - 1), _extra_chars(big, n_chars))
        shift = np.concatenate([[0], np.cumsum(n_chars - 1)])
        bounds = bounds + shift[np.searchsorted(multi, bounds)]
    text = chars.tobytes()
    edges = bounds.tolist()
    return [text[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _extra_chars(x: np.ndarray, n_chars: np.ndarray) -> np.ndarray:
    """Characters 2..n of each multi-character value, value after value."""
    n_extra = n_chars - 1
    owner = np.repeat(np.arange(len(x)), n_extra)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(n_extra) - n_extra, n_extra) + 1
    chars = ((x[owner] >> (5 * k)) & 31).astype(np.uint8)
    chars[k < n_chars[owner] - 1] |= 32
    return chars + np.uint8(48)
