"""A box-shaped mask as one frame's compressed RLE, the form results and ground truth carry."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def box_rle(box: tuple[int, int, int, int], height: int, width: int) -> dict:
    """Rows y0:y1 and columns x0:x1 of a (height, width) frame set, as {"size", "counts"}."""
    mask = np.zeros((height, width), dtype=np.uint8, order="F")
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = 1
    rle = mask_utils.encode(mask)
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
