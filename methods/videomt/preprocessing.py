"""VidEoMT's test input: detectron2's test mapper, then normalisation and padding to 32.

`ResizeShortestEdge(MIN_SIZE_TEST, 1333)` with PIL's bilinear filter (448, or 544 in the OVIS
configs), RGB 0..255 normalised with the ImageNet mean/std in that range (`videomt.py`), then zero
padding at the bottom and right to a multiple of 32 AFTER normalisation
(`ImageList.from_tensors`): the padded patches are ordinary tokens, with no attention mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vis_bench.toolkit import Preprocessing

PIXEL_MEAN = (123.675, 116.280, 103.530)
PIXEL_STD = (58.395, 57.120, 57.375)
MAX_SIZE_TEST = 1333
SIZE_DIVISIBILITY = 32


def release_preprocessing(shorter_side: int) -> Preprocessing:
    """The released configs' test preprocessing at a given shorter side."""
    return Preprocessing(
        shorter_side=shorter_side,
        resize="pil-bilinear",
        max_size=MAX_SIZE_TEST,
        mean=PIXEL_MEAN,
        std=PIXEL_STD,
        pixel_divisor=1.0,
        size_divisibility=SIZE_DIVISIBILITY,
    )


def pad_frames(frames: torch.Tensor) -> torch.Tensor:
    """Zero padding at the bottom and right of [T, 3, H, W] to a multiple of 32."""
    height, width = frames.shape[-2:]
    pad_h = -height % SIZE_DIVISIBILITY
    pad_w = -width % SIZE_DIVISIBILITY
    return F.pad(frames, (0, pad_w, 0, pad_h)) if pad_h or pad_w else frames
