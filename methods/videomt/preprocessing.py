"""VidEoMT's test input: detectron2's test mapper, then normalisation and padding to 32.

`ResizeShortestEdge(MIN_SIZE_TEST, 1333)` with PIL's bilinear filter (448, or 544 in the OVIS
configs), RGB 0..255 normalised with the ImageNet mean/std in that range (`videomt.py`), then zero
padding at the bottom and right to a multiple of 32 AFTER normalisation
(`ImageList.from_tensors`): the padded patches are ordinary tokens, with no attention mask.
"""

from __future__ import annotations

from vis_bench.api import Preprocessing
from vis_bench.methods.common.detectron2_input import (
    detectron2_preprocessing,
    pad_frames,
)

__all__ = ["pad_frames", "release_preprocessing"]


def release_preprocessing(shorter_side: int) -> Preprocessing:
    """The released configs' test preprocessing at a given shorter side."""
    return detectron2_preprocessing(shorter_side)
