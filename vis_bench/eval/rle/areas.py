"""Pixel counts of many compressed RLE masks: the compiled kernel where it takes them, else
pycocotools (same numbers; the kernel only saves time)."""

from __future__ import annotations

import numpy as np

from vis_bench.eval.rle import bulk_rle

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
    from pycocotools import mask as mask_utils  # here: the kernel counts most masks

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
