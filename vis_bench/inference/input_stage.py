"""The runner's input stage: where a cell's decoded windows come from, and the wait for them.

Kept apart from runner.py because it is the one part of a pass that is not timed: it chooses
between the pool of input workers (input_workers.py: frames decoded and resized to the model's
size ahead of the model) and the serial path (frame_stream.py: one decoding thread, frames at the
video's size), and notes how long the model waited for each window, which the timed stages leave
out. runner.py re-exports `splits_resize`, which the timing protocols also ask.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import torch

from vis_bench.api.plugin import MethodPlugin
from vis_bench.inference.frame_stream import ClipFrames, FrameSource, prefetched_clips
from vis_bench.inference.input_workers import (
    InputTimes,
    InputWorkers,
    pooled_clips,
    resolve_input_workers,
)
from vis_bench.inference.overhead import HarnessTimes


def input_stage(
    plugin: MethodPlugin,
    source: FrameSource,
    times: HarnessTimes,
    passes: Callable[[Any], list[list[range]]],
    resolution: int | None,
    device: str,
    input_workers: int | str,
) -> Iterator[ClipFrames]:
    """The decoded windows in order: from the pool of input workers (frames at model size),
    or, with 0 workers, from the one decoding thread (frames at the video's size)."""
    workers = resolve_input_workers(input_workers, device)
    if workers > 1 and not getattr(source, "parallel_reads", True):
        workers = 1  # a source read forwards by one reader (a video file): one worker, in order
    times.input_workers = workers
    if workers == 0:
        return prefetched_clips(source, source.videos(), passes, times.decode)
    resize = None
    if splits_resize(plugin):

        def resize(frames: torch.Tensor) -> torch.Tensor:
            return plugin.preprocessing.resize_frames(frames, resolution)

    pin = str(device).startswith("cuda") and torch.cuda.is_available()
    # on a CPU the workers run on the model's device: they normalise too (the same values)
    normalise = plugin.preprocessing.normalise if str(device).startswith("cpu") else None
    times.input = InputTimes(times.decode)
    pool = InputWorkers(workers, source, resize, times.input, pin, normalise)
    return pooled_clips(pool, source.videos(), passes)


def splits_resize(plugin: MethodPlugin) -> bool:
    """Whether the method's preprocessing is its declared one (resize, then normalise), so the
    resize can run apart from the normalisation (in an input worker, or outside a timer)."""
    return type(plugin).preprocess is MethodPlugin.preprocess


def waited(clips: Iterator[ClipFrames], times: HarnessTimes) -> Iterator[ClipFrames]:
    """The decoded windows, with the time spent waiting for them noted (it is not timed)."""
    while True:
        start = time.perf_counter()
        clip = next(clips, None)
        times.decode_wait_s += time.perf_counter() - start
        if clip is None:
            return
        yield clip
