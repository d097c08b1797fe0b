"""Final masks: each frame resized to the video size, thresholded and RLE-encoded once final.

`EncodedFrames` is the stitcher's sink in the runner: when a frame can no longer change it takes
the frame's mean mask of every track, resizes them with the method's `masks_to_video`, and keeps
only their RLE strings (plus, per track, whether any frame was non-empty). `results` then turns
the tracks' summaries into results.json entries with the method's `track_predictions`, exactly
as post-processing the whole track's masks at once would: the resize and threshold act on each
frame alone, the empty-track rule needs only "was any frame non-empty", and the predictions of a
track (a multi-class expansion, a method's score rule) need its scores and class
probabilities, not its masks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vis_bench.api.output import (
    MasksToVideo,
    TrackSummary,
    default_masks_to_video,
    default_track_predictions,
    output_hooks,
)
from vis_bench.api.plugin import MethodPlugin
from vis_bench.eval.rle.resize_encode import resize_encode
from vis_bench.formats.rle import encode

#: tracks resized together: bounds the float temporaries at the video size (16 x 720 x 1280
#: floats are 59 MB) whatever the number of tracks
RESIZE_CHUNK = 16


@dataclass(frozen=True)
class TrackPostprocessing:
    """How a method turns tracks into results: its plugin's hooks, or the defaults."""

    track_predictions: Callable[[Any], list[tuple]] = default_track_predictions
    masks_to_video: MasksToVideo = default_masks_to_video
    drop_empty_tracks: bool = False
    #: threshold -> the cut a resized mask must exceed (a method's `mask_cut`), or None
    mask_cut: Callable[[float], float | None] = float

    @classmethod
    def of(cls, plugin: MethodPlugin | None) -> TrackPostprocessing:
        """The method's output hooks (api/output.py), or the defaults without a method."""
        if plugin is None:
            return cls()
        track_predictions, masks_to_video, mask_cut = output_hooks(plugin)
        return cls(track_predictions, masks_to_video, bool(plugin.spec.drop_empty_tracks), mask_cut)


@dataclass
class FinaliseTimes:
    """Seconds spent resizing (and thresholding) and RLE-encoding final frames."""

    resize_s: float = 0.0
    rle_s: float = 0.0


class EncodedFrames:
    """A stitcher sink keeping, per track and frame, only the RLE of its final binary mask."""

    def __init__(
        self,
        height: int,
        width: int,
        masks_to_video: MasksToVideo = default_masks_to_video,
        times: FinaliseTimes | None = None,
        mask_cut: Callable[[float], float | None] | None = None,
    ) -> None:
        self.height, self.width = int(height), int(width)
        self.masks_to_video = masks_to_video
        self.times = times if times is not None else FinaliseTimes()
        #: None: always `masks_to_video` (a sink built without a plugin's cut)
        self.mask_cut = mask_cut
        self._encoded: dict[int, dict[int, dict[str, Any]]] = {}
        self._non_empty: set[int] = set()

    def frame_final(self, frame: int, masks: dict[int, torch.Tensor], threshold: float) -> None:
        if masks and self._encode_at_once(frame, masks, threshold):
            return
        ids = list(masks)
        for first in range(0, len(ids), RESIZE_CHUNK):
            chunk = ids[first : first + RESIZE_CHUNK]
            start = time.perf_counter()
            binary = self.masks_to_video(
                torch.stack([masks[i] for i in chunk]), self.height, self.width, threshold
            )
            resized = time.perf_counter()
            for k, track_id in enumerate(chunk):
                self._encoded.setdefault(track_id, {})[frame] = encode(binary[k])
                if track_id not in self._non_empty and binary[k].any():
                    self._non_empty.add(track_id)
            self.times.resize_s += resized - start
            self.times.rle_s += time.perf_counter() - resized

    def _encode_at_once(self, frame: int, masks: dict[int, torch.Tensor], threshold: float) -> bool:
        """Every track's mask of the frame through the compiled resize-and-encode (the same
        RLE as `masks_to_video` then `encode`); False where it does not apply."""
        cut = self.mask_cut(threshold) if self.mask_cut is not None else None
        if cut is None:
            return False
        start = time.perf_counter()
        stacked = torch.stack([m.float() for m in masks.values()]).numpy()
        threads = torch.get_num_threads()  # the cell's threads, as the model's
        encoded = resize_encode(stacked, self.height, self.width, cut, threads)
        if encoded is None:
            return False
        size = [self.height, self.width]
        for track_id, (counts, non_empty) in zip(masks, encoded, strict=True):
            self._encoded.setdefault(track_id, {})[frame] = {"size": list(size), "counts": counts}
            if non_empty:
                self._non_empty.add(track_id)
        self.times.resize_s += time.perf_counter() - start
        return True

    def results(
        self,
        tracks: list[TrackSummary],
        video_id: int,
        num_frames: int,
        post: TrackPostprocessing | None = None,
    ) -> list[dict[str, Any]]:
        """results.json entries of the tracks: the method's predictions, masks shared by them.

        A frame no clip predicted is an empty mask; with `drop_empty_tracks` a track whose
        masks are empty in every frame at the video size yields nothing (a method's declaration).
        """
        post = post or TrackPostprocessing()
        empty = encode(np.zeros((self.height, self.width), np.uint8))
        results = []
        for track in tracks:
            predictions = post.track_predictions(track)
            if not predictions:
                continue
            if post.drop_empty_tracks and track.track_id not in self._non_empty:
                continue
            encoded = self._encoded.get(track.track_id, {})
            segmentations = [encoded.get(frame, empty) for frame in range(num_frames)]
            for category_id, score, *flags in predictions:
                with_masks = flags[0] if flags else True
                results.append(
                    {
                        "video_id": int(video_id),
                        "score": float(score),
                        "category_id": int(category_id),
                        "segmentations": segmentations if with_masks else [None] * num_frames,
                    }
                )
        return results
