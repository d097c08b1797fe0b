"""Run-length encoding of masks in the COCO / YouTube-VIS formats, on top of pycocotools.

Masks are column-major run lengths starting with a run of zeros. YouTube-VIS ground truth ships
*uncompressed* RLE (`counts` a list of ints); results must be *compressed* RLE (`counts` a
string). These helpers convert between the two and numpy masks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from vis_bench.eval import bulk_rle

RLE = dict[str, Any]


def encode(mask: np.ndarray) -> RLE:
    """Binary mask [H, W] -> compressed RLE with a str `counts` (JSON-ready)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8, copy=False)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def encode_uncompressed(mask: np.ndarray) -> RLE:
    """Binary mask [H, W] -> uncompressed RLE (`counts` a list of ints), as GT files store it."""
    h, w = mask.shape
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"counts": counts, "size": [int(h), int(w)]}


def to_compressed(rle: RLE) -> RLE:
    """Uncompressed or compressed RLE -> compressed RLE with bytes `counts` (pycocotools form)."""
    counts = rle["counts"]
    h, w = rle["size"]
    if isinstance(counts, list):
        return mask_utils.frPyObjects(rle, h, w)
    if isinstance(counts, str):
        return {"size": [h, w], "counts": counts.encode("ascii")}
    return rle


def to_json(rle: RLE) -> RLE:
    """Any RLE (uncompressed, or compressed with bytes or str counts) -> compressed RLE with a
    str `counts`: what a results.json frame entry must be (`json.dump` takes it as it is)."""
    compressed = to_compressed(rle)
    counts = compressed["counts"]
    return {
        "size": [int(v) for v in compressed["size"]],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def describe_list_entry(entry: list) -> str:
    """What a frame entry given as a list is: a binary mask (rows of 0/1) or polygons."""
    if entry and all(isinstance(row, list) for row in entry):
        values = {v for row in entry for v in row}
        if values <= {0, 1} and len({len(row) for row in entry}) == 1:
            height, width = len(entry), len(entry[0])
            return f"a binary mask given as a {height}x{width} list of 0/1 rows"
        return "a list of polygons"
    return "a flat list (a polygon or a list of counts without 'size')"


# A value takes n characters when it fits in 5n-bit two's complement: `rank` below these.
_CHAR_LIMITS = np.array([16 * 32**k for k in range(7)], dtype=np.int64)
# pycocotools' encoder allots 6 characters per count and writes one more (the terminator), so
# long counts overrun its buffer; below 2**24 a count takes at most 5 (frames of up to 4096^2).
MAX_COMPRESSIBLE = 2**24


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


def decode(rle: RLE) -> np.ndarray:
    """Any RLE -> uint8 mask [H, W]."""
    return mask_utils.decode(to_compressed(rle))


def area(rle: RLE) -> int:
    """Number of foreground pixels of any RLE."""
    return int(mask_utils.area(to_compressed(rle)))


# pycocotools 2.0.11 `area` fails on lists longer than 255 masks (uint8 overflow), so chunk.
_AREA_CHUNK = 255


def mask_areas(masks: list[dict]) -> np.ndarray:
    """Pixel counts of compressed RLE masks (each string parsed once, in C): the compiled
    kernel where it takes them, else pycocotools."""
    counted = bulk_rle.areas(masks) if masks else None
    return counted if counted is not None else pycocotools_areas(masks)


def pycocotools_areas(masks: list[dict]) -> np.ndarray:
    """Pixel counts of compressed RLE masks by pycocotools `area` (any mask it accepts)."""
    if not masks:
        return np.zeros(0)
    parts = [mask_utils.area(masks[i : i + _AREA_CHUNK]) for i in range(0, len(masks), _AREA_CHUNK)]
    return np.concatenate(parts).astype(np.float64)


def track_areas(tracks: list[list[dict | None]]) -> list[np.ndarray]:
    """Per track, the pixel count of every frame (0 where absent)."""
    flat = [seg for frames in tracks for seg in frames]
    present = [k for k, seg in enumerate(flat) if seg]
    areas = np.zeros(len(flat))
    areas[present] = mask_areas([flat[k] for k in present])
    bounds = np.cumsum([len(frames) for frames in tracks])[:-1]
    return np.split(areas, bounds) if tracks else []
