"""Run-length encoding of masks in the COCO / YouTube-VIS formats, on top of pycocotools.

Masks are column-major run lengths starting with a run of zeros. YouTube-VIS ground truth ships
*uncompressed* RLE (`counts` a list of ints); results must be *compressed* RLE (`counts` a
string). These helpers convert between the two and numpy masks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

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


def decode(rle: RLE) -> np.ndarray:
    """Any RLE -> uint8 mask [H, W]."""
    return mask_utils.decode(to_compressed(rle))


def area(rle: RLE) -> int:
    """Number of foreground pixels of any RLE."""
    return int(mask_utils.area(to_compressed(rle)))


# pycocotools 2.0.11 `area` fails on lists longer than 255 masks (uint8 overflow), so chunk.
_AREA_CHUNK = 255


def mask_areas(masks: list[dict]) -> np.ndarray:
    """Pixel counts of compressed RLE masks (each string parsed once, in C)."""
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
