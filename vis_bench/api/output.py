"""A method's own results, an optional capability: how a video track becomes predictions and how
its masks become the video's.

The harness links clips into tracks and hands each final frame's mean mask to the method's mask
resize; without hooks, a track is one prediction (its label and mean clip score) and a mask is
one bilinear resize to the video size, then a threshold. A method implements any of
`TrackOutput`'s hooks to do it its authors' way: `track_predictions` (a multi-class expansion of
a track, a score rule), `masks_to_video` (a resize of the padded input, a sigmoid), `mask_cut`
(the value the bilinear-resized mask must exceed, when that is what `masks_to_video` does: the
harness then resizes, thresholds and RLE-encodes in one exact compiled pass). `output_hooks`
gives a plugin's hooks or the defaults. `TrackSummary` is what `track_predictions` reads;
`sigmoid_cut` and the RLE pair serve such hooks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from vis_bench.formats.rle import decode as decode_rle
from vis_bench.formats.rle import encode as encode_rle

__all__ = [
    "MasksToVideo",
    "TrackOutput",
    "TrackSummary",
    "decode_rle",
    "default_masks_to_video",
    "default_track_predictions",
    "encode_rle",
    "output_hooks",
    "sigmoid_cut",
]

#: working-resolution masks [n, h, w], video height, width, threshold -> uint8 [n, H, W]
MasksToVideo = Callable[[torch.Tensor, int, int, float], np.ndarray]


@dataclass
class TrackSummary:
    """What a method decides a track's predictions from (`track_predictions`).

    score: the mean of the track's clip scores; class_probs: the mean class distribution over
    its clips, if the method gave one. A pixel is foreground where the resized mean mask exceeds
    `mask_threshold` (0 for logits, 0.5 for probabilities).
    """

    track_id: int
    label: int
    score: float
    mask_threshold: float = 0.5
    class_probs: torch.Tensor | None = None


class TrackOutput(Protocol):
    """The optional hooks (see the module docstring); each may be implemented alone."""

    def track_predictions(self, track: TrackSummary) -> list[tuple]:
        """(category id, score) or (category id, score, with_masks) predictions of one track;
        with_masks False writes `None` segmentations (e.g. below a score)."""
        ...

    def masks_to_video(
        self, masks: torch.Tensor, height: int, width: int, threshold: float
    ) -> np.ndarray:
        """Working-resolution masks [n, h, w] (mean logits or probabilities) -> uint8 [n, H, W]."""
        ...

    def mask_cut(self, threshold: float) -> float | None:
        """The value the bilinear-resized mask must exceed to be foreground; None: the harness
        calls `masks_to_video`."""
        ...


def default_track_predictions(track: Any) -> list[tuple]:
    """One prediction per track: its label and mean clip score."""
    return [(int(track.label), float(track.score))]


def default_masks_to_video(
    masks: torch.Tensor, height: int, width: int, threshold: float
) -> np.ndarray:
    """One bilinear resize (align_corners=False) to the video size, then `> threshold`."""
    resized = torch.nn.functional.interpolate(
        masks.float()[:, None], size=(height, width), mode="bilinear", align_corners=False
    )
    return (resized[:, 0] > threshold).to(torch.uint8).cpu().numpy()


def _same_cut(threshold: float) -> float | None:
    return float(threshold)


def _no_cut(threshold: float) -> float | None:
    return None


def output_hooks(
    plugin: Any,
) -> tuple[Callable[[Any], list[tuple]], MasksToVideo, Callable[[float], float | None]]:
    """A plugin's (`track_predictions`, `masks_to_video`, `mask_cut`), each its own hook or the
    default. Without a `mask_cut` hook the cut is the threshold while the mask resize is the
    default one, and none (the harness calls the method's `masks_to_video`) otherwise."""
    track_predictions = getattr(plugin, "track_predictions", None) or default_track_predictions
    masks_to_video = getattr(plugin, "masks_to_video", None)
    mask_cut = getattr(plugin, "mask_cut", None)
    if mask_cut is None:
        mask_cut = _same_cut if masks_to_video is None else _no_cut
    return track_predictions, masks_to_video or default_masks_to_video, mask_cut


@functools.cache
def sigmoid_cut(p: float = 0.5) -> float:
    """The largest float32 x whose `torch.sigmoid(x)` is at most `p` (0.5 <= p < 1).

    PyTorch's float32 sigmoid is monotone (tests/test_mask_encoding.py), so `sigmoid(x) > p`
    is `x > sigmoid_cut(p)`: a threshold the compiled resize applies (a method that keeps
    `sigmoid(logits) > 0.5`, which is not `logits > 0` for logits below 1e-7 or so).
    """
    if not 0.5 <= p < 1:
        raise ValueError(f"sigmoid_cut needs 0.5 <= p < 1, got {p}")

    def above(bits: int) -> bool:
        x = float(np.int32(bits).view(np.float32))
        return bool((torch.sigmoid(torch.full((64,), x)) > p).all())

    # bit patterns of non-negative floats keep their order: bisect sigmoid(lo) <= p < sigmoid(hi)
    lo, hi = 0, int(np.float32(100.0).view(np.int32))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if above(mid) else (mid, hi)
    return float(np.int32(lo).view(np.float32))
