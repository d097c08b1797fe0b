"""Videos, instance tracks and categories as read from a YouTube-VIS-layout file.

They hold the annotation JSON as parsed (segmentations stay RLE / polygons until asked for), so
loading a 3,000-video training file costs no mask decoding. (A sweep's records, one JSON line
per cell, are vis_bench/sweep/record.py's.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from vis_bench.formats import rle as rle_utils
from vis_bench.formats.occlusion import occlusion_score as track_occlusion_score

Segmentation = dict[str, Any] | list[list[float]] | None


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    supercategory: str = ""


@dataclass(frozen=True)
class Annotation:
    """One instance track over a whole video; list position = frame index in `file_names`."""

    id: int
    video_id: int
    category_id: int
    height: int
    width: int
    segmentations: tuple[Segmentation, ...]
    areas: tuple[float | None, ...] | None = None
    bboxes: tuple[list[float] | None, ...] | None = None
    iscrowd: int = 0
    #: OVIS: per-frame occlusion level (no_occlusion / slight_occlusion / severe_occlusion or
    #: None), None when the file has no labels for this track
    occlusion: tuple[str | None, ...] | None = None

    @property
    def occlusion_score(self) -> float | None:
        """The OVIS occlusion score of this track (formats/occlusion.py), None without labels."""
        if self.occlusion is None:
            return None
        return track_occlusion_score(self.occlusion)

    def visible(self, t: int) -> bool:
        return bool(self.segmentations[t])

    def mask(self, t: int) -> np.ndarray | None:
        """uint8 mask [H, W] of frame `t`, or None where the instance is not visible."""
        seg = self.segmentations[t]
        if not seg:
            return None
        if isinstance(seg, dict):
            return rle_utils.decode(seg)
        # Polygons: rasterise at the video size and merge parts, as the official loader does.
        parts = mask_utils.frPyObjects(seg, self.height, self.width)
        return mask_utils.decode(mask_utils.merge(parts))

    def masks(self) -> np.ndarray:
        """uint8 masks [T, H, W]; frames where the instance is absent are all zero."""
        out = np.zeros((len(self.segmentations), self.height, self.width), dtype=np.uint8)
        for t in range(len(self.segmentations)):
            m = self.mask(t)
            if m is not None:
                out[t] = m
        return out


@dataclass(frozen=True)
class Video:
    """A video record: frame paths are relative to the dataset's frame root."""

    id: int
    width: int
    height: int
    length: int
    file_names: tuple[str, ...]
    annotations: tuple[Annotation, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        """The frame folder (`<name>/00000.jpg`), which is how people refer to a video."""
        if not self.file_names:
            return str(self.id)
        parent = PurePosixPath(self.file_names[0].replace("\\", "/")).parent
        return str(parent) if str(parent) != "." else str(self.id)
