"""The runner: one method over one dataset under one clip schedule, to results.json and timings.

The harness owns everything around `infer_clip`, identically for every method: frames are decoded
by a prefetching thread (so decoding is not timed), clips are formed by the shared schedule,
stitched by the shared soft-IoU matcher, resized back to the video size and RLE-encoded here.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from vis_bench.eval.rle import encode
from vis_bench.inference.schedule import clip_windows
from vis_bench.inference.stitching import ClipStitcher, VideoTrack
from vis_bench.measure.timing import Stopwatch, median, synchronize, time_call
from vis_bench.plugin import MethodPlugin, default_masks_to_video, default_track_predictions

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class VideoInfo(Protocol):
    id: int
    height: int
    width: int
    length: int


class FrameSource(Protocol):
    """What the runner needs of a dataset."""

    def videos(self) -> list[Any]: ...

    def read_frames(self, video: Any, indices: list[int]) -> np.ndarray:
        """uint8 RGB frames [t, H, W, 3]."""
        ...


@dataclass
class RunOutcome:
    """Predictions and timings of one method over a dataset.

    `first_clip` is the first clip of the first video as the method takes it (preprocessed, on
    the device): the warm-up, the model-only timing and the FLOP count all use it, so the first
    video is decoded once.
    """

    results: list[dict[str, Any]] = field(default_factory=list)
    num_videos: int = 0
    num_frames: int = 0
    seconds_end_to_end: float = 0.0
    model_clip_times: list[float] = field(default_factory=list)
    model_clip_frames: int = 0
    first_clip: torch.Tensor | None = field(default=None, repr=False)

    @property
    def fps_end_to_end(self) -> float:
        return self.num_frames / self.seconds_end_to_end if self.seconds_end_to_end else 0.0

    @property
    def fps_model(self) -> float:
        """Frames per second of `infer_clip` alone on a fixed clip (median of the repeats)."""
        t = median(self.model_clip_times)
        return self.model_clip_frames / t if self.model_clip_times and t > 0 else 0.0


def _prefetch(
    source: FrameSource, videos: list[Any], max_frames: int
) -> Iterator[tuple[Any, np.ndarray | None]]:
    """Decode the next video's frames in a background thread while the current one runs.

    Videos longer than `max_frames` are yielded without frames (None) and decoded clip by clip,
    so memory stays bounded for long videos.
    """
    slots: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def work() -> None:
        try:
            for video in videos:
                if stop.is_set():
                    return
                frames = None
                if video.length <= max_frames:
                    frames = source.read_frames(video, list(range(video.length)))
                slots.put((video, frames, None))
        except BaseException as err:  # surfaced in the consumer thread
            slots.put((None, None, err))
            return
        slots.put(None)

    thread = threading.Thread(target=work, name="vis-bench-frames", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is None:
                return
            video, frames, err = item
            if err is not None:
                raise err
            yield video, frames
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get_nowait()
            thread.join(timeout=0.05)


def tracks_to_results(
    tracks: list[VideoTrack], video: VideoInfo, plugin: MethodPlugin | None = None
) -> list[dict[str, Any]]:
    """Each track's predictions with its masks resized to the video size and RLE-encoded.

    The method decides the predictions of a track (`track_predictions`) and how its masks go
    to the video size (`masks_to_video`); a track's masks are encoded once and shared by all
    of its predictions.
    """
    track_predictions = plugin.track_predictions if plugin else default_track_predictions
    masks_to_video = plugin.masks_to_video if plugin else default_masks_to_video
    drop_empty = bool(plugin.spec.drop_empty_tracks) if plugin else False
    height, width = int(video.height), int(video.width)
    empty = encode(np.zeros((height, width), np.uint8))
    results = []
    for track in tracks:
        predictions = track_predictions(track)
        if not predictions:
            continue
        present = [i for i, m in enumerate(track.masks) if m is not None]
        segmentations: list[dict[str, Any] | None] = [empty] * len(track.masks)
        if present:
            stack = torch.stack([track.masks[i] for i in present])
            binary = masks_to_video(stack, height, width, track.mask_threshold)
            if drop_empty and not binary.any():
                continue
            for k, i in enumerate(present):
                segmentations[i] = encode(binary[k])
        elif drop_empty:
            continue
        for category_id, score, *flags in predictions:
            with_masks = flags[0] if flags else True
            results.append(
                {
                    "video_id": int(video.id),
                    "score": float(score),
                    "category_id": int(category_id),
                    "segmentations": segmentations if with_masks else [None] * len(segmentations),
                }
            )
    return results


def _autocast(device: str, dtype: str):
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.split(":")[0], dtype=DTYPES[dtype])


def run_method(
    plugin: MethodPlugin,
    source: FrameSource,
    *,
    clip_length: int | str,
    stride: int | None,
    resolution: int | None,
    device: str = "cpu",
    dtype: str = "fp32",
    warmup: int = 1,
    repeats: int = 3,
    time_model: bool = True,
    max_prefetch_frames: int = 400,
    progress: Callable[[int], None] | None = None,
    timed_region: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Predict every video of `source`.

    `progress(n)` is called after each video; `timed_region("start" / "end")` around the timed
    part (machine-load readings). Before the end-to-end timer starts, `warmup` > 0 runs the first
    clip once untimed: one-time costs (library handles, kernels built on first use) would
    otherwise land in the end-to-end FPS of whichever cell runs first (building the CUDA
    deformable-attention kernel once added 29 s to SeqFormer's first GPU cell).
    """
    outcome = RunOutcome()
    plugin.to(device)
    videos = source.videos()
    timer = Stopwatch(device)
    spec = plugin.spec
    with torch.inference_mode():
        for video, frames in _prefetch(source, videos, max_prefetch_frames):
            windows = clip_windows(video.length, clip_length, stride)
            if outcome.first_clip is None:
                first = _window_frames(source, video, frames, windows[0])
                outcome.first_clip = model_input(plugin, first, resolution, device)
                if warmup > 0:
                    _infer(plugin, outcome.first_clip, device, dtype)
                    synchronize(device)
                if timed_region is not None:
                    timed_region("start")
            with timer:
                stitcher = ClipStitcher(
                    video.length, history=len(windows[0]), class_aware=spec.stitch_class_aware
                )
                for window in windows:
                    clip_frames = _window_frames(source, video, frames, window)
                    clip = model_input(plugin, clip_frames, resolution, device)
                    with _autocast(device, dtype):
                        result = plugin.infer_clip(clip)
                    stitcher.add_clip(window, result)
                outcome.results.extend(tracks_to_results(stitcher.tracks(), video, plugin))
            outcome.num_videos += 1
            outcome.num_frames += int(video.length)
            if progress is not None:
                progress(1)
    outcome.seconds_end_to_end = timer.total
    if timed_region is not None and outcome.first_clip is not None:
        timed_region("end")
    if time_model and outcome.first_clip is not None:
        clip = outcome.first_clip
        with torch.inference_mode():
            outcome.model_clip_times = time_call(
                lambda: _infer(plugin, clip, device, dtype), device, warmup, repeats
            )
        outcome.model_clip_frames = int(clip.shape[0])
    return outcome


def _window_frames(source: FrameSource, video: Any, frames: np.ndarray | None, window: range):
    """A window's decoded frames: sliced from the whole video, or read when it was not decoded."""
    if frames is not None:
        return frames[window.start : window.stop]
    return source.read_frames(video, list(window))


def model_input(
    plugin: MethodPlugin, frames: np.ndarray, resolution: int | None, device: str
) -> torch.Tensor:
    """Frames [T, H, W, 3] uint8 as the method takes them: [T, 3, h, w], preprocessed, on device."""
    clip = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return plugin.preprocess(clip, resolution).to(device)


def _infer(plugin: MethodPlugin, clip: torch.Tensor, device: str, dtype: str) -> None:
    with _autocast(device, dtype):
        plugin.infer_clip(clip)
