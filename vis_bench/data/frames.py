"""Reading JPEG frames: existence checks up front, size checks when a frame is actually read.

Frames come back as uint8 RGB numpy arrays [H, W, 3] (channels last, Pillow's layout); a clip
stacks them to [T, H, W, 3]. `to_tensor_clip` gives the [T, 3, H, W] layout models consume.
Decoding is deferred to the moment a frame is asked for: checking that files exist is cheap,
decoding every image of a 3,000-video set to validate it is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, UnidentifiedImageError

from vis_bench.errors import InputError

if TYPE_CHECKING:
    import torch


def find_missing(paths: Iterable[Path]) -> list[Path]:
    """The paths that are not existing files, in order."""
    return [p for p in paths if not p.is_file()]


def read_frame(
    path: Path, height: int, width: int, *, field: str | None = None, size_from: str | None = None
) -> np.ndarray:
    """Decode one frame to uint8 RGB [H, W, 3], failing if its size is not the declared one.

    The size is read from the image header before decoding, so a wrong-size frame costs nothing.
    `size_from` names where the expected size comes from when it is not a dataset's video
    record (e.g. a folder's first frame).
    """
    try:
        with Image.open(path) as image:
            if image.size != (width, height):
                given = f"image is {image.size[0]}x{image.size[1]} (width x height)"
                raise InputError(
                    f"{given} but the video record says {width}x{height}; fix the record's "
                    "width/height or the frame"
                    if size_from is None
                    else f"{given} but {size_from} is {width}x{height}: a video's frames all "
                    "have one size; resize the frames to one size",
                    path=str(path),
                    field=field,
                )
            rgb = image.convert("RGB")
            return np.asarray(rgb, dtype=np.uint8)
    except FileNotFoundError:
        raise InputError("frame file not found", path=str(path), field=field) from None
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"cannot decode image: {err}", path=str(path), field=field) from None


def stack_frames(frames: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """[H, W, 3] frames -> one uint8 array [T, H, W, 3] (T may be 0)."""
    if not frames:
        return np.zeros((0, height, width, 3), dtype=np.uint8)
    return np.stack(frames, axis=0)


def to_tensor_clip(clip: np.ndarray) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> uint8 torch tensor [T, 3, H, W] (contiguous, no scaling)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(clip.transpose(0, 3, 1, 2)))
