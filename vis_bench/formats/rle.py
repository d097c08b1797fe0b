"""Run-length encoding of masks in the COCO / YouTube-VIS formats, on top of pycocotools.

The bottom floor for masks: datasets (data/), the metric (eval/) and methods read and write RLE
through these helpers, so no two of them import each other for it.

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


def decode(rle: RLE) -> np.ndarray:
    """Any RLE -> uint8 mask [H, W]."""
    return mask_utils.decode(to_compressed(rle))


def area(rle: RLE) -> int:
    """Number of foreground pixels of any RLE."""
    return int(mask_utils.area(to_compressed(rle)))
