"""The `authors` timing protocol of a cell: the method's declared protocol, run by the harness.

The end-to-end run gives the cell's predictions and the reference FPS; this is a second, timed
pass over the same videos with the timer where the method's authors put theirs
(`MethodSpec.timing_protocol`), so the two numbers differ only by the protocol:

- `video_forward` (detectron2's evaluator): each video is decoded and resized before the timer
  starts; inside it, normalisation, the copy to the device, the cell's clips through the method,
  their linking, post-processing and every final frame's masks resized to the video size and
  thresholded on the host; RLE is left out. One timed call per video, the device synchronised
  after it, the first videos as warm-up;
- `frame_forward` (a per-frame benchmark loop): each video decoded, resized, normalised and on
  the device before the timer; then one frame per `infer_clip` call, the per-video state carried
  from frame to frame (`CarriedState` methods), the device synchronised before and after each.

Both use the protocol's precision and compiler as this machine can apply them (protocols.py) and
the same inference code as the end-to-end run (inference/runner.py), so the arithmetic is the
one the predictions were scored with. FPS is timed frames / timed seconds over the videos after
the warm-up; the compiler's seconds are taken out of the timed ones and reported apart.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.api.execution import no_grad_region
from vis_bench.api.linking import CarriedState
from vis_bench.api.output import MasksToVideo
from vis_bench.api.plugin import MethodPlugin
from vis_bench.api.timing import TimingProtocol
from vis_bench.engine.finalise import RESIZE_CHUNK, TrackPostprocessing
from vis_bench.inference.autocast import autocast
from vis_bench.inference.frame_stream import FrameSource
from vis_bench.inference.input_stage import ToModel, model_input
from vis_bench.inference.runner import VideoSchedule, predict_video, splits_resize
from vis_bench.inference.stopwatch import synchronize
from vis_bench.measure.compile import compiled, matmul_precision
from vis_bench.measure.protocols import Applied, applied_settings, protocol_result

NOT_DECLARED = "the method declares no authors' protocol (MethodSpec.timing_protocol)"


@dataclass(frozen=True)
class ProtocolCell:
    """The cell's axes a protocol pass runs under."""

    clip_length: int | str
    stride: int | None
    resolution: int | None
    device: str
    dtype: str
    feature_reuse: bool = True


@dataclass
class _Timed:
    """Frames and seconds of the timed videos (after the warm-up)."""

    frames: int = 0
    seconds: float = 0.0
    videos: int = 0
    #: compile seconds taken out of the timed videos' seconds
    left_out: float = 0.0

    def add(self, frames: int, seconds: float, left_out: float) -> None:
        self.frames += frames
        self.seconds += seconds
        self.left_out += left_out
        self.videos += 1


def _timed(device: str, left_out: Callable[[], float], call: Callable[..., Any], *args: Any):
    """(result, seconds less what `left_out` grew by, that growth) of `call(*args)`, the device
    synchronised before and after."""
    synchronize(device)
    before, start = left_out(), time.perf_counter()
    result = call(*args)
    synchronize(device)
    excluded = left_out() - before
    return result, time.perf_counter() - start - excluded, excluded


class ResizedFrames:
    """A linker's sink that resizes and thresholds each final frame's masks to the video size,
    on the host, and keeps no RLE (a protocol that times the masks, not their encoding)."""

    def __init__(self, height: int, width: int, masks_to_video: MasksToVideo) -> None:
        self.height, self.width = int(height), int(width)
        self.masks_to_video = masks_to_video
        self.masks = 0

    def frame_final(self, frame: int, masks: dict[int, torch.Tensor], threshold: float) -> None:
        ids = list(masks)
        for first in range(0, len(ids), RESIZE_CHUNK):
            chunk = torch.stack([masks[i] for i in ids[first : first + RESIZE_CHUNK]]).cpu()
            self.masks += len(self.masks_to_video(chunk, self.height, self.width, threshold))

    def results(self, tracks: list[Any], video_id: int, num_frames: int, post: Any) -> list:
        """The tracks' predictions (the method's scores and labels), without their masks."""
        return [prediction for track in tracks for prediction in post.track_predictions(track)]


def _video_frames(plugin: MethodPlugin, source: FrameSource, video: Any, cell: ProtocolCell):
    """A video's frames as the timed part starts from: decoded and resized (uint8 [T, 3, h, w]),
    or decoded only where the method's preprocessing cannot be split."""
    decoded = source.read_frames(video, list(range(int(video.length))))
    if not splits_resize(plugin):
        return decoded
    clip = torch.from_numpy(decoded).permute(0, 3, 1, 2)
    return plugin.preprocessing.resize_frames(clip, cell.resolution)


def _to_model(plugin: MethodPlugin, cell: ProtocolCell) -> ToModel:
    """How `_video_frames`' frames become the method's input inside the timer: normalised and
    copied to the device, or preprocessed whole where the resize could not be split off."""
    if splits_resize(plugin):
        return lambda frames: plugin.preprocessing.normalise(frames).to(cell.device)
    return functools.partial(model_input, plugin, resolution=cell.resolution, device=cell.device)


def _resized_frames(video: Any, post: TrackPostprocessing) -> ResizedFrames:
    return ResizedFrames(video.height, video.width, post.masks_to_video)


def _video_forward(
    plugin: MethodPlugin,
    source: FrameSource,
    cell: ProtocolCell,
    applied: Applied,
    left_out: Callable[[], float],
) -> _Timed:
    """detectron2's loop: one timed call per video after `applied.warmup` untimed ones; the
    call is the runner's one video (`predict_video`): the cell's clips, linked, final masks at
    video size."""
    timed = _Timed()
    schedule = VideoSchedule(
        cell.clip_length, cell.stride, cell.device, applied.precision, cell.feature_reuse
    )
    to_model = _to_model(plugin, cell)
    for index, video in enumerate(source.videos()):
        frames = _video_frames(plugin, source, video, cell)
        _, seconds, excluded = _timed(
            cell.device,
            left_out,
            predict_video,
            plugin,
            video,
            frames,
            schedule,
            to_model,
            _resized_frames,
        )
        if index >= applied.warmup:
            timed.add(int(video.length), seconds, excluded)
    return timed


def _frame_forward(
    plugin: MethodPlugin,
    source: FrameSource,
    cell: ProtocolCell,
    applied: Applied,
    left_out: Callable[[], float],
) -> _Timed:
    """A per-frame benchmark loop: one frame per call, state carried, nothing else timed."""
    timed = _Timed()
    carries = isinstance(plugin.spec.linking, CarriedState)
    for index, video in enumerate(source.videos()):
        length = int(video.length)
        decoded = source.read_frames(video, list(range(length)))
        frames = model_input(plugin, decoded, cell.resolution, cell.device)
        state, seconds, excluded = None, 0.0, 0.0
        for t in range(length):
            carried = {"state": state, "seen": 0} if carries else {}
            result, frame_s, frame_excluded = _timed(
                cell.device,
                left_out,
                _frame_call,
                plugin,
                frames[t : t + 1],
                carried,
                cell,
                applied,
            )
            seconds, excluded, state = seconds + frame_s, excluded + frame_excluded, result.state
        if index >= applied.warmup:
            timed.add(length, seconds, excluded)
    return timed


def _frame_call(
    plugin: MethodPlugin, frame: torch.Tensor, carried: dict, cell: ProtocolCell, applied: Applied
) -> Any:
    with autocast(cell.device, applied.precision):
        return plugin.infer_clip(frame, **carried)


REGIONS = {"video_forward": _video_forward, "frame_forward": _frame_forward}


def run_authors_protocol(
    plugin: MethodPlugin,
    source: FrameSource,
    protocol: TimingProtocol | None,
    cell: ProtocolCell,
) -> dict[str, Any]:
    """The `authors` entry of a record: the declared protocol timed on the cell's videos, or
    why it was not (not declared, never stated by the authors, a region the harness lacks)."""
    if protocol is None:
        return {"fps": None, "protocol": None, "not_measured": NOT_DECLARED}
    if not protocol.stated:
        reason = f"the authors published no timing procedure ({protocol.source})"
        return protocol_result(protocol, None, reason=reason)
    region = REGIONS.get(str(protocol.region))
    if region is None:
        reason = f"region {protocol.region!r} is one the harness runs as its own protocol"
        return protocol_result(protocol, None, reason=reason)
    videos = source.videos()
    applied = applied_settings(protocol, cell.device, cell.dtype, len(videos))
    with (
        matmul_precision(applied.matmul_precision),
        compiled(plugin, applied.compile) as clock,
        no_grad_region(),
    ):
        timed = region(plugin, source, cell, applied, _left_out(clock))
    if region is _video_forward and not splits_resize(plugin):
        applied.notes.append("resize inside the timer: the method's preprocess cannot be split")
    seconds = timed.seconds
    return protocol_result(
        protocol,
        timed.frames / seconds if seconds > 0 else None,
        applied,
        frames=timed.frames,
        seconds=round(seconds, 6),
        videos_timed=timed.videos,
        seconds_per_video=round(seconds / timed.videos, 6) if timed.videos else None,
        compile=clock.summary(timed.left_out) if clock is not None else None,
    )


def _left_out(clock: Any) -> Callable[[], float]:
    """The running count of seconds a timer leaves out (the compiler's; 0 without one)."""
    return (lambda: clock.seconds) if clock is not None else (lambda: 0.0)
