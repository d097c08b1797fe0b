"""Final masks: each frame resized to the video size, thresholded and RLE-encoded once final.

`EncodedFrames` is the stitcher's sink in the runner: when a frame can no longer change it takes
the frame's mean mask of every track, resizes them with the method's `masks_to_video`, and keeps
only their RLE strings (where the method gives its cut, by the compiled resize-and-encode on the
encoding thread, device_rle.py's `EncodingThread`, while the main thread goes on with the next
clip; collected in `results`) (plus, per track, whether any frame was non-empty). `results` then turns
the tracks' summaries into results.json entries with the method's `track_predictions`, exactly
as post-processing the whole track's masks at once would: the resize and threshold act on each
frame alone, the empty-track rule needs only "was any frame non-empty", and the predictions of a
track (a multi-class expansion, a method's score rule) need its scores and class
probabilities, not its masks.

Where the masks are on an accelerator (the stitcher's arithmetic runs where the method's masks
are), a frame's masks are resized and thresholded there, in batches, and their run lengths
computed there too (device_rle.py: one copy to the host per batch); the strings are written on
the host by a background thread while the device goes on, and collected in `results`. A method
with its own `masks_to_video` (no `mask_cut`) is resized on the host as before.
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
from vis_bench.engine.device_rle import EncodingThread, rle_strings, run_lengths
from vis_bench.eval.rle.resize_encode import applies, resize_encode
from vis_bench.formats.rle import encode

#: tracks resized together: bounds the float temporaries at the video size (16 x 720 x 1280
#: floats are 59 MB) whatever the number of tracks
RESIZE_CHUNK = 16
#: masks resized, thresholded and run-length counted together on an accelerator, across frames
#: (one copy of run lengths per batch): 64 x 720 x 1280 floats are 236 MB of device memory
DEVICE_CHUNK = 64


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
    #: seconds of the encoding thread's own work (overlapping the main thread's stages)
    thread_s: float = 0.0


class EncodedFrames:
    """A stitcher sink keeping, per track and frame, only the RLE of its final binary mask."""

    def __init__(
        self,
        height: int,
        width: int,
        masks_to_video: MasksToVideo = default_masks_to_video,
        times: FinaliseTimes | None = None,
        mask_cut: Callable[[float], float | None] | None = None,
        on_device: bool | None = None,
    ) -> None:
        self.height, self.width = int(height), int(width)
        self.masks_to_video = masks_to_video
        self.times = times if times is not None else FinaliseTimes()
        #: None: always `masks_to_video` (a sink built without a plugin's cut)
        self.mask_cut = mask_cut
        #: None: on the device where the masks are not on the CPU (True: there, CPU included)
        self.on_device = on_device
        self._encoded: dict[int, dict[int, dict[str, Any]]] = {}
        self._non_empty: set[int] = set()
        #: masks waiting to be counted on their device: (frame, track id, cut, mask)
        self._queued: list[tuple[int, int, float, torch.Tensor]] = []
        #: strings still being written: their (frame, track id) and the future of the strings
        self._writing: list[tuple[list[tuple[int, int]], Any]] = []
        #: frames in the compiled pass on the encoding thread: (frame, track ids, future)
        self._compiling: list[tuple[int, list[int], Any]] = []

    def frame_final(self, frame: int, masks: dict[int, torch.Tensor], threshold: float) -> None:
        if masks and self._encode_on_device(frame, masks, threshold):
            return
        if masks and self._encode_at_once(frame, masks, threshold):
            return
        ids = list(masks)
        for first in range(0, len(ids), RESIZE_CHUNK):
            chunk = ids[first : first + RESIZE_CHUNK]
            start = time.perf_counter()
            binary = self.masks_to_video(
                torch.stack([masks[i] for i in chunk]).cpu(), self.height, self.width, threshold
            )
            resized = time.perf_counter()
            for k, track_id in enumerate(chunk):
                self._encoded.setdefault(track_id, {})[frame] = encode(binary[k])
                if track_id not in self._non_empty and binary[k].any():
                    self._non_empty.add(track_id)
            self.times.resize_s += resized - start
            self.times.rle_s += time.perf_counter() - resized

    def _encode_on_device(
        self, frame: int, masks: dict[int, torch.Tensor], threshold: float
    ) -> bool:
        """The frame's masks queued to be resized, thresholded and counted in runs on their
        device, DEVICE_CHUNK masks at a time whatever their frames (one copy to the host per
        batch); False where it does not apply (masks on the CPU unless asked, or a method's own
        resize)."""
        ids = list(masks)
        on_device = self.on_device
        if on_device is None:
            on_device = masks[ids[0]].device.type != "cpu"
        cut = self.mask_cut(threshold) if self.mask_cut is not None else None
        if not on_device or cut is None:
            return False
        cut = float(np.float32(cut))  # the cut in the masks' float32, as resize_encode's
        if self._queued and self._queued[-1][2] != cut:
            self._count_runs()
        self._queued.extend((frame, track_id, cut, masks[track_id]) for track_id in ids)
        while len(self._queued) >= DEVICE_CHUNK:
            self._count_runs()
        return True

    def _count_runs(self) -> None:
        """The first DEVICE_CHUNK queued masks (of one cut) resized, thresholded and counted in
        runs on their device; their strings handed to the background writer."""
        cut = self._queued[0][2]
        batch = []
        while self._queued and len(batch) < DEVICE_CHUNK and self._queued[0][2] == cut:
            batch.append(self._queued.pop(0))
        start = time.perf_counter()
        stacked = torch.stack([mask.float() for *_, mask in batch])[:, None]
        resized = torch.nn.functional.interpolate(
            stacked, size=(self.height, self.width), mode="bilinear", align_corners=False
        )
        binary = resized[:, 0] > cut
        counted = time.perf_counter()
        counts, bounds, non_empty = run_lengths(binary)
        for (_, track_id, _, _), any_pixel in zip(batch, non_empty.tolist(), strict=True):
            if any_pixel:
                self._non_empty.add(track_id)
        future = EncodingThread.submit(rle_strings, counts, bounds, self.height, self.width)
        self._writing.append(([(f, t) for f, t, _, _ in batch], future))
        self.times.resize_s += counted - start
        self.times.rle_s += time.perf_counter() - counted

    def _written(self) -> None:
        """The queued masks counted, and the strings the background thread wrote stored
        (waiting for it is encoding time)."""
        while self._queued:
            self._count_runs()
        start = time.perf_counter()
        size = [self.height, self.width]
        for frame, ids, future in self._compiling:
            encoded, seconds = future.result()
            self.times.thread_s += seconds
            for track_id, (counts, non_empty) in zip(ids, encoded, strict=True):
                self._encoded.setdefault(track_id, {})[frame] = {
                    "size": list(size),
                    "counts": counts,
                }
                if non_empty:
                    self._non_empty.add(track_id)
        self._compiling.clear()
        for places, future in self._writing:
            for (frame, track_id), counts in zip(places, future.result(), strict=True):
                self._encoded.setdefault(track_id, {})[frame] = {
                    "size": list(size),
                    "counts": counts,
                }
        self._writing.clear()
        self.times.rle_s += time.perf_counter() - start

    def _encode_at_once(self, frame: int, masks: dict[int, torch.Tensor], threshold: float) -> bool:
        """Every track's mask of the frame through the compiled resize-and-encode (the same
        RLE as `masks_to_video` then `encode`); False where it does not apply."""
        cut = self.mask_cut(threshold) if self.mask_cut is not None else None
        if cut is None or not applies(self.height, self.width):
            return False
        start = time.perf_counter()
        stacked = torch.stack([m.float() for m in masks.values()]).cpu().numpy()
        threads = torch.get_num_threads()  # the cell's threads, as the model's
        args = (stacked, self.height, self.width, cut, threads)
        self._compiling.append((frame, list(masks), EncodingThread.submit(_timed, *args)))
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
        self._written()
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


def _timed(
    masks: np.ndarray, height: int, width: int, cut: float, threads: int
) -> tuple[list[tuple[str, bool]], float]:
    """`resize_encode` on the encoding thread, with its seconds."""
    start = time.perf_counter()
    encoded = resize_encode(masks, height, width, cut, threads)
    assert encoded is not None  # `applies` was asked first
    return encoded, time.perf_counter() - start
