"""One frame of a ground-truth track as YouTube-VIS files store it: the mask as uncompressed RLE,
its pixel count (`areas`) and its tight box (`bboxes`); null in all three where it is empty.

Shared by everything that writes ground truth from masks (the synthetic generator, the VOS-layout
importer), so their files agree field for field.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vis_bench.formats.rle import encode_uncompressed


def mask_bbox(mask: np.ndarray) -> list[float]:
    """Tight [x, y, w, h] of a non-empty mask, in pixels (the COCO convention)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    x0, y0 = int(cols[0]), int(rows[0])
    return [float(x0), float(y0), float(cols[-1] - x0 + 1), float(rows[-1] - y0 + 1)]


def frame_fields(mask: np.ndarray | None) -> tuple[dict[str, Any] | None, int | None, Any]:
    """(segmentation, area, bbox) of one frame; all None for no mask or an empty one."""
    if mask is None or not mask.any():
        return None, None, None
    return encode_uncompressed(mask), int(mask.sum()), mask_bbox(mask)
