"""A masklet's masks kept as RLE while the passes run: the masks at the video's size of every
yielded frame would otherwise be held until the video's end, memory growing with objects x
frames; encoded, a frame's mask costs about its outline. Decoded only for the frames the
harness asks for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vis_bench.api.output import decode_rle, encode_rle


def encode_masks(masks: torch.Tensor) -> list[dict[str, Any]]:
    """(N, H, W) bool -> one compressed RLE per mask."""
    array = masks.cpu().numpy()
    return [encode_rle(array[k]) for k in range(array.shape[0])]


@dataclass
class MaskletMasks:
    """One masklet's masks: frame -> RLE, empty on every other frame of the video."""

    num_frames: int
    video_size: tuple[int, int]
    frames: dict[int, dict[str, Any]] = field(default_factory=dict)

    def dense(self, frame_indices: list[int] | None = None) -> torch.Tensor:
        """(len(frame_indices), H, W) bool (all frames by default)."""
        indices = range(self.num_frames) if frame_indices is None else frame_indices
        out = np.zeros((len(indices), *self.video_size), dtype=bool)
        for row, t in enumerate(indices):
            if t in self.frames:
                out[row] = decode_rle(self.frames[t]).astype(bool)
        return torch.from_numpy(out)
