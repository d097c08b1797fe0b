"""Final masks: each frame resized to the video size, thresholded and RLE-encoded once final.

`EncodedFrames` is the stitcher's sink in the runner: when a frame can no longer change it takes
the frame's mean mask of every track, resizes them with the method's `masks_to_video`, and keeps
only their RLE strings (plus, per track, whether any frame was non-empty). `results` then turns
the tracks' summaries into results.json entries with the method's `track_predictions`, exactly
as post-processing the whole track's masks at once would: the resize and threshold act on each
frame alone, the empty-track rule needs only "was any frame non-empty", and the predictions of a
track (IFC's multi-class expansion, SeqFormer's score rule) need its scores and class
probabilities, not its masks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vis_bench.formats.rle import encode
from vis_bench.toolkit.plugin import MethodPlugin, default_masks_to_video, default_track_predictions
from vis_bench.toolkit.stitching import TrackSummary

MasksToVideo = Callable[[torch.Tensor, int, int, float], np.ndarray]
#: tracks resized together: bounds the float temporaries at the video size (16 x 720 x 1280
#: floats are 59 MB) whatever the number of tracks
RESIZE_CHUNK = 16


@dataclass(frozen=True)
class TrackPostprocessing:
    """How a method turns tracks into results: its plugin's hooks, or the defaults."""

    track_predictions: Callable[[Any], list[tuple]] = default_track_predictions
    masks_to_video: MasksToVideo = default_masks_to_video
    drop_empty_tracks: bool = False

    @classmethod
    def of(cls, plugin: MethodPlugin | None) -> TrackPostprocessing:
        if plugin is None:
            return cls()
        return cls(
            plugin.track_predictions, plugin.masks_to_video, bool(plugin.spec.drop_empty_tracks)
        )


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
    ) -> None:
        self.height, self.width = int(height), int(width)
        self.masks_to_video = masks_to_video
        self.times = times if times is not None else FinaliseTimes()
        self._encoded: dict[int, dict[int, dict[str, Any]]] = {}
        self._non_empty: set[int] = set()

    def frame_final(self, frame: int, masks: dict[int, torch.Tensor], threshold: float) -> None:
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

    def results(
        self,
        tracks: list[TrackSummary],
        video_id: int,
        num_frames: int,
        post: TrackPostprocessing | None = None,
    ) -> list[dict[str, Any]]:
        """results.json entries of the tracks: the method's predictions, masks shared by them.

        A frame no clip predicted is an empty mask; with `drop_empty_tracks` a track whose
        masks are empty in every frame at the video size yields nothing (SeqFormer).
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
