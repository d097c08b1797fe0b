"""detectron2's test-time input: ResizeShortestEdge with PIL bilinear, then (x - mean) / std on
0..255 pixels, padded to a multiple of 32.

Every method released on detectron2 (IFC, the Mask2Former family, VidEoMT) prepares its frames
this way; only the shorter side, the cap on the longer side and, for Caffe-style weights, the
channel order and statistics differ. One declaration, so they cannot drift apart.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vis_bench.api import Preprocessing

#: ImageNet statistics on 0..255 RGB pixels (detectron2's default PIXEL_MEAN / PIXEL_STD)
PIXEL_MEAN = (123.675, 116.280, 103.530)
PIXEL_STD = (58.395, 57.120, 57.375)
#: INPUT.MAX_SIZE_TEST of the released configs
MAX_SIZE_TEST = 1333
#: the backbone's stride: detectron2's `ImageList.from_tensors(images, 32)`
SIZE_DIVISIBILITY = 32


def detectron2_preprocessing(
    shorter_side: int,
    max_size: int | None = MAX_SIZE_TEST,
    mean: tuple[float, float, float] = PIXEL_MEAN,
    std: tuple[float, float, float] = PIXEL_STD,
    channel_order: str = "RGB",
) -> Preprocessing:
    """The test preprocessing of a detectron2 config at `shorter_side` (INPUT.MIN_SIZE_TEST)."""
    return Preprocessing(
        shorter_side=shorter_side,
        resize="pil-bilinear",
        max_size=max_size,
        mean=mean,
        std=std,
        pixel_divisor=1.0,
        channel_order=channel_order,
        size_divisibility=SIZE_DIVISIBILITY,
    )


def padded_size(height: int, width: int) -> tuple[int, int]:
    """The size frames are padded to (a multiple of 32 each way)."""
    d = SIZE_DIVISIBILITY
    return -(-height // d) * d, -(-width // d) * d


def pad_frames(frames: torch.Tensor) -> torch.Tensor:
    """Zero padding at the bottom and right of [..., H, W] up to `padded_size`, after
    normalisation as `ImageList.from_tensors` pads (nothing when already there)."""
    h, w = frames.shape[-2:]
    hp, wp = padded_size(h, w)
    if (hp, wp) == (h, w):
        return frames
    return F.pad(frames, (0, wp - w, 0, hp - h))
