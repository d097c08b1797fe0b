"""The runner's input stage: where a cell's decoded windows come from, and the wait for them.

Kept apart from runner.py because it is the one part of a pass that is not timed: it chooses
between the pool of input workers (input_workers.py: frames decoded and resized to the model's
size ahead of the model) and the serial path (frame_stream.py: one decoding thread, frames at the
video's size), with the one way their frames become the method's input (`ToModel`), and notes
how long the model waited for each window, which the timed stages leave out. runner.py
re-exports `splits_resize`, which the timing protocols also ask.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
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

#: a window's frames, in the form its input stage made them -> the method's input on the device
ToModel = Callable[[Any], torch.Tensor]


def input_stage(
    plugin: MethodPlugin,
    source: FrameSource,
    times: HarnessTimes,
    passes: Callable[[Any], list[list[range]]],
    resolution: int | None,
    device: str,
    input_workers: int | str,
) -> tuple[Iterator[ClipFrames], ToModel]:
    """The decoded windows in order: from the pool of input workers (frames at model size),
    or, with 0 workers, from the one decoding thread (frames at the video's size); and how
    their frames become the method's input, chosen here once with the form they come in."""
    workers = resolve_input_workers(input_workers, device)
    if workers > 1 and not getattr(source, "parallel_reads", True):
        workers = 1  # a source read forwards by one reader (a video file): one worker, in order
    times.input_workers = workers
    if workers == 0:
        clips = prefetched_clips(source, source.videos(), passes, times.decode)
        return clips, functools.partial(model_input, plugin, resolution=resolution, device=device)
    resize = None
    if splits_resize(plugin):

        def resize(frames: torch.Tensor) -> torch.Tensor:
            return plugin.preprocessing.resize_frames(frames, resolution)

    pin = str(device).startswith("cuda") and torch.cuda.is_available()
    # on a CPU the workers run on the model's device: they normalise too (the same values)
    normalise = plugin.preprocessing.normalise if str(device).startswith("cpu") else None
    times.input = InputTimes(times.decode)
    pool = InputWorkers(workers, source, resize, times.input, pin, normalise)
    return pooled_clips(pool, source.videos(), passes), _workers_to_model(
        plugin, pool, resolution, device
    )


def _workers_to_model(
    plugin: MethodPlugin, pool: InputWorkers, resolution: int | None, device: str
) -> ToModel:
    """How the workers' uint8 tensors [t, 3, h, w] become the method's input: as they are when
    the workers normalised them (on the CPU the model runs on); copied as uint8 and normalised on
    the device when they resized them; otherwise (a `preprocess` that cannot be split: frames at
    the video's size) preprocessed whole here and copied."""
    if pool.normalise is not None:
        return _as_made
    if pool.resize is not None:
        return lambda frames: plugin.preprocessing.normalise(frames.to(device, non_blocking=True))
    return lambda frames: plugin.preprocess(frames, resolution).to(device)


def _as_made(frames: torch.Tensor) -> torch.Tensor:
    return frames


def model_input(
    plugin: MethodPlugin, frames: np.ndarray, resolution: int | None, device: str
) -> torch.Tensor:
    """Frames [T, H, W, 3] uint8 as the method takes them: [T, 3, h, w], preprocessed, on device."""
    clip = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return plugin.preprocess(clip, resolution).to(device)


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
