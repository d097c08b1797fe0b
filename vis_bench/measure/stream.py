"""Latency of a live stream (MLPerf's SingleStream, for video), replayed from a run's clip timings.

Throughput hides what a live user waits for. Here frames arrive one at a time and a frame's latency
runs from its arrival until its masks are final, which is when the last clip covering it has been
computed. An online method (one frame per clip) answers each frame after one clip. A near-online
one answers when its clip completes: with clips of 5 frames, a frame waits for up to 4 later
frames. An offline one answers at the end of the video.

The replay uses the seconds each clip took in the timed run. It does not re-run the model, so the
model's arithmetic is the same as the throughput number's. A clip starts when its last frame has
arrived and the previous clip is done. Frames arrive either at the video's frame rate
(`fps`), or as fast as the method takes them (`fps=None`). In that second case, a frame a clip
needs first arrives the moment the previous clip ends.

- **p50 / p90 / p99** of per-frame latency, each with an upper bound that holds with 99 %
  confidence given how many frames were timed (MLPerf's early-stopping idea: the order statistic
  whose rank the binomial distribution guarantees). A short run can then claim no lucky p99. The
  bound is None when too few frames were timed, and `frames_for_p99_bound` says how many would do.
- **time to first result**: from the first frame's arrival until its masks are final.
- **dropped at real-time rate** (only with `fps`): frames that waited to be taken longer than it
  takes one more clip's worth of frames to arrive. A one-clip input buffer would have overflowed
  on them. This is counted on the run as it went, not on a re-run without those frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from vis_bench.inference.stopwatch import ClipTiming

#: the percentiles reported, and the confidence of their upper bounds
PERCENTILES = (50, 90, 99)
CONFIDENCE = 0.99


@dataclass(frozen=True)
class VideoStream:
    """One video replayed as a stream: per frame, when it arrived and when its masks were final."""

    arrival: np.ndarray  # seconds from the stream's start
    final: np.ndarray
    waited: np.ndarray  # from arrival until the clip that first takes the frame starts

    @property
    def latency(self) -> np.ndarray:
        return self.final - self.arrival


def replay_video(clips: Sequence[ClipTiming], length: int, fps: float | None) -> VideoStream:
    """The stream of one video: clips run in order, each once its last frame has arrived and the
    previous clip is done; a frame is final when the last clip covering it ends."""
    arrival = np.full(length, np.nan)
    final = np.full(length, np.nan)
    waited = np.full(length, np.nan)
    if fps is not None:
        arrival[:] = np.arange(length) / fps
    busy_until = 0.0
    for clip in clips:
        new = [t for t in clip.frames if np.isnan(waited[t])]
        if fps is None:
            arrival[[t for t in new if np.isnan(arrival[t])]] = busy_until
        start = max(busy_until, float(np.nanmax(arrival[list(clip.frames)])))
        waited[new] = start - arrival[new]
        busy_until = start + clip.seconds
        final[list(clip.frames)] = busy_until  # a later clip covering a frame moves it on
    if np.isnan(final).any():
        raise ValueError(f"the clips cover {int((~np.isnan(final)).sum())} of {length} frames")
    return VideoStream(arrival=arrival, final=final, waited=waited)


def percentile_bound(samples: np.ndarray, percentile: float) -> float | None:
    """An upper bound of the `percentile` that holds with CONFIDENCE: the smallest order
    statistic x_(k) with P(Binomial(n, p) < k) >= CONFIDENCE; None when n is too small."""
    n = len(samples)
    k = frames_for_rank(n, percentile / 100)
    return None if k is None else float(np.sort(samples)[k - 1])


def frames_for_rank(n: int, p: float) -> int | None:
    """The 1-based rank whose order statistic bounds the p-quantile, or None if none of n does."""
    if n == 0:
        return None
    k = int(binom.ppf(CONFIDENCE, n, p)) + 1
    return k if k <= n else None


def frames_needed(percentile: float) -> int:
    """The fewest timed frames that bound `percentile` at CONFIDENCE (all below it: p^n <= 1-c)."""
    p = percentile / 100
    return math.ceil(math.log(1 - CONFIDENCE) / math.log(p))


@dataclass(frozen=True)
class StreamSummary:
    """The stream measurement of a cell, over all its videos' frames."""

    fps: float | None
    frames: int
    latency_ms: dict[str, float]  # "p50" -> milliseconds
    latency_bound_ms: dict[str, float | None]  # "p99" -> its 99 % upper bound, None: too few
    frames_for_p99_bound: int
    first_result_ms: float  # median over videos
    dropped: int | None  # None without a frame rate

    def as_dict(self) -> dict:
        return {
            "arrival": "as fast as taken" if self.fps is None else f"{self.fps:g} fps",
            "fps": self.fps,
            "frames": self.frames,
            "latency_ms": self.latency_ms,
            "latency_bound_ms": self.latency_bound_ms,
            "bound_confidence": CONFIDENCE,
            "frames_for_p99_bound": self.frames_for_p99_bound,
            "first_result_ms": self.first_result_ms,
            "dropped": self.dropped,
        }


def summarize(
    streams: Sequence[VideoStream], clip_frames: int | Sequence[int], fps: float | None
) -> StreamSummary:
    """Percentiles over every frame of every video, first-result time and drops (`clip_frames`:
    the clip length, or each video's longest clip when they differ, as with T = all)."""
    latency = np.concatenate([s.latency for s in streams]) if streams else np.zeros(0)
    sizes = [clip_frames] * len(streams) if isinstance(clip_frames, int) else list(clip_frames)
    dropped = None
    if fps is not None:
        dropped = int(sum((s.waited > n / fps).sum() for s, n in zip(streams, sizes, strict=True)))
    return StreamSummary(
        fps=fps,
        frames=len(latency),
        latency_ms={
            f"p{p}": float(np.percentile(latency, p)) * 1e3 if len(latency) else float("nan")
            for p in PERCENTILES
        },
        latency_bound_ms={
            f"p{p}": None if (b := percentile_bound(latency, p)) is None else b * 1e3
            for p in PERCENTILES
        },
        frames_for_p99_bound=frames_needed(99),
        first_result_ms=float(np.median([s.latency[0] for s in streams])) * 1e3
        if streams
        else float("nan"),
        dropped=dropped,
    )
