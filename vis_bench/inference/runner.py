"""The runner: one method over one dataset under one clip schedule, to results.json and timings.

The harness owns everything around `infer_clip`, identically for every method: frames are decoded
window by window by a background thread (frame_stream.py; waiting for them is not timed), clips
are formed by the shared schedule, stitched by the shared soft-IoU matcher (or linked as query tracks
where the method declares it, toolkit/linking.py), and every frame is
resized back to the video size and RLE-encoded as soon as no later clip can change it
(finalise.py), so near-online inference holds neither the video's frames nor its float masks.
Offline inference (T = all) is the method's whole-video forward: its frames and activations
grow with the video's length by design of the method.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vis_bench.inference.frame_stream import ClipFrames, FrameSource, prefetched_clips
from vis_bench.inference.overhead import HarnessTimes
from vis_bench.measure.timing import Stopwatch, median, synchronize, time_call
from vis_bench.toolkit.finalise import EncodedFrames, TrackPostprocessing
from vis_bench.toolkit.linking import CarriedState, links_query_tracks
from vis_bench.toolkit.plugin import MethodPlugin
from vis_bench.toolkit.query_tracks import QueryTrackLinker, selected_track_predictions
from vis_bench.toolkit.schedule import clip_windows
from vis_bench.toolkit.stitching import ClipStitcher

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

__all__ = ["FrameSource", "RunOutcome", "model_input", "run_method"]


@dataclass
class RunOutcome:
    """Predictions and timings of one method over a dataset.

    `first_clip` is the first clip of the first video as the method takes it (preprocessed, on
    the device): the warm-up, the model-only timing and the FLOP count all use it, so the first
    video is decoded once. `harness` breaks the end-to-end time down (overhead.py).
    """

    results: list[dict[str, Any]] = field(default_factory=list)
    num_videos: int = 0
    num_frames: int = 0
    seconds_end_to_end: float = 0.0
    model_clip_times: list[float] = field(default_factory=list)
    model_clip_frames: int = 0
    first_clip: torch.Tensor | None = field(default=None, repr=False)
    harness: HarnessTimes = field(default_factory=HarnessTimes)

    @property
    def fps_end_to_end(self) -> float:
        return self.num_frames / self.seconds_end_to_end if self.seconds_end_to_end else 0.0

    @property
    def fps_model(self) -> float:
        """Frames per second of `infer_clip` alone on a fixed clip (median of the repeats)."""
        t = median(self.model_clip_times)
        return self.model_clip_frames / t if self.model_clip_times and t > 0 else 0.0


class _VideoRun:
    """One video in flight: its linker (the shared stitcher, or the query-track linker the
    method's spec declares), streaming final frames into RLE."""

    def __init__(
        self, clip: ClipFrames, plugin: MethodPlugin, post: TrackPostprocessing, times: HarnessTimes
    ) -> None:
        video = clip.video
        self.video = video
        self.post = post
        self.times = times
        self.encoded = EncodedFrames(video.height, video.width, post.masks_to_video, times.finalise)
        linking = plugin.spec.linking
        self.stitcher: ClipStitcher | QueryTrackLinker
        if links_query_tracks(linking):
            self.stitcher = QueryTrackLinker(linking, plugin.video_predictions, [self.encoded])
            self.post = dataclasses.replace(post, track_predictions=selected_track_predictions)
        else:
            self.stitcher = ClipStitcher.for_schedule(
                clip.windows,
                int(video.length),
                class_aware=plugin.spec.stitch_class_aware,
                sinks=[self.encoded],
            )

    @property
    def state(self) -> Any:
        """The method's per-video state after the last clip (None unless it carries one)."""
        return getattr(self.stitcher, "state", None)

    def _finalise_seconds(self) -> float:
        return self.times.finalise.resize_s + self.times.finalise.rle_s

    def add(self, window: range, result: Any) -> None:
        before, start = self._finalise_seconds(), time.perf_counter()
        self.stitcher.add_clip(window, result)
        self.times.stitch_s += time.perf_counter() - start - (self._finalise_seconds() - before)

    def results(self) -> list[dict[str, Any]]:
        before, start = self._finalise_seconds(), time.perf_counter()
        tracks = self.stitcher.finish()
        out = self.encoded.results(tracks, int(self.video.id), int(self.video.length), self.post)
        self.times.stitch_s += time.perf_counter() - start - (self._finalise_seconds() - before)
        self.times.note_stitcher(self.stitcher.peak_tensors, self.stitcher.peak_bytes)
        return out


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
    timer = Stopwatch(device)
    times = outcome.harness
    post = TrackPostprocessing.of(plugin)
    clips = prefetched_clips(
        source,
        source.videos(),
        lambda video: clip_windows(int(video.length), clip_length, stride),
        times.decode,
    )
    video_run: _VideoRun | None = None
    with torch.inference_mode(), contextlib.closing(clips):
        for clip in _waited(clips, times):
            if outcome.first_clip is None:
                outcome.first_clip = model_input(plugin, clip.frames, resolution, device)
                if warmup > 0:
                    _infer(plugin, outcome.first_clip, device, dtype)
                    synchronize(device)
                if timed_region is not None:
                    timed_region("start")
            with timer:
                if clip.index == 0:
                    video_run = _VideoRun(clip, plugin, post, times)
                assert video_run is not None
                result = _predict(
                    plugin, clip, resolution, device, dtype, times, state=video_run.state
                )
                video_run.add(clip.window, result)
                if clip.is_last:
                    outcome.results.extend(video_run.results())
            if clip.is_last:
                outcome.num_videos += 1
                outcome.num_frames += int(clip.video.length)
                video_run = None
                if progress is not None:
                    progress(1)
    outcome.seconds_end_to_end = timer.total
    if timed_region is not None and outcome.first_clip is not None:
        timed_region("end")
    if time_model and outcome.first_clip is not None:
        first = outcome.first_clip
        with torch.inference_mode():
            outcome.model_clip_times = time_call(
                lambda: _infer(plugin, first, device, dtype), device, warmup, repeats
            )
        outcome.model_clip_frames = int(first.shape[0])
    return outcome


def _waited(clips: Iterator[ClipFrames], times: HarnessTimes) -> Iterator[ClipFrames]:
    """The decoded windows, with the time spent waiting for them noted (it is not timed)."""
    while True:
        start = time.perf_counter()
        clip = next(clips, None)
        times.decode_wait_s += time.perf_counter() - start
        if clip is None:
            return
        yield clip


def _predict(
    plugin: MethodPlugin,
    clip: ClipFrames,
    resolution: int | None,
    device: str,
    dtype: str,
    times: HarnessTimes,
    state: Any = None,
) -> Any:
    """One window through the method's preprocessing and `infer_clip`, both timed; a method that
    carries state from clip to clip (`CarriedState`) is handed its previous clip's."""
    start = time.perf_counter()
    frames = model_input(plugin, clip.frames, resolution, device)
    prepared = time.perf_counter()
    with _autocast(device, dtype):
        if isinstance(plugin.spec.linking, CarriedState):
            result = plugin.infer_clip(frames, state=state)
        else:
            result = plugin.infer_clip(frames)
    synchronize(device)
    times.preprocess_s += prepared - start
    times.model_s += time.perf_counter() - prepared
    return result


def model_input(
    plugin: MethodPlugin, frames: np.ndarray, resolution: int | None, device: str
) -> torch.Tensor:
    """Frames [T, H, W, 3] uint8 as the method takes them: [T, 3, h, w], preprocessed, on device."""
    clip = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return plugin.preprocess(clip, resolution).to(device)


def _infer(plugin: MethodPlugin, clip: torch.Tensor, device: str, dtype: str) -> None:
    with _autocast(device, dtype):
        plugin.infer_clip(clip)
