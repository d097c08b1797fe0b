"""The input stage: frames decoded and resized to the model's size by a pool of worker threads.

Each frame is read with the dataset's own decoder and resized with the method's own
`Preprocessing` rule, one frame per task, by `workers` threads running ahead of the model; the
main thread receives uint8 tensors `[t, 3, h, w]` at model size, copies them to the device and
normalises there (input_stage.py's `ToModel`); where the model runs on the CPU, the workers
normalise too, and the main thread receives the model's input. A frame an overlapping window
covers again is taken from a ring of resized frames (`frame_stream.frame_ring`: kept while a
later window still covers it), never read twice. The worker that reads a window's last frame stacks the window (a copy of the
whole window, not made on the main thread between two model calls).

Threads, not processes: Pillow's JPEG decoder and PyTorch's resize release the GIL, so threads
decode and resize in parallel, share the frames without pickling them, and leave no process
behind when a pass ends or fails. The pixels are those of the serial path: the same decoder and
the same resize rule, applied to each frame alone (the rule acts on each frame alone anyway).

`measure.input_workers` sets the pool's size: 0 keeps the serial path (one thread decodes
ahead, the main thread resizes: `frame_stream.prefetched_clips`), `auto` picks one per device
(`resolve_input_workers`).
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vis_bench.errors import InputError
from vis_bench.inference.frame_stream import ClipFrames, DecodeTimes, FrameSource, frame_ring

#: the most workers `auto` starts (a 720p JPEG decodes in a few ms: more seldom pay)
AUTO_MAX = 8
#: windows queued beyond the one the model runs: with one, a whole-video window (T=all) left the
#: workers idle whenever the main thread's model and linking for one video outlasted their
#: reading of the next (the two take about as long in bench_harness_ceiling.py's sleeping pass)
WINDOWS_AHEAD = 2
THREAD_PREFIX = "vis-bench-input"


def resolve_input_workers(setting: int | str, device: str, threads: int | None = None) -> int:
    """The pool's size for `measure.input_workers`: an integer as given, or `auto`: on a GPU
    every core but the main thread's (at most AUTO_MAX); on a CPU the cores the model's
    `threads` leave free, at least 1, so that the model's threads come first."""
    if setting != "auto":
        workers = int(setting)
        if workers < 0:
            raise ValueError(f"input_workers must be >= 0 or 'auto', got {setting!r}")
        return workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    if str(device).startswith("cpu"):
        model = threads if threads else torch.get_num_threads()
        return max(1, min(AUTO_MAX, cores - model))
    return max(1, min(AUTO_MAX, cores - 1))


@dataclass
class InputTimes:
    """Seconds the workers spent reading and resizing frames (summed over workers)."""

    decode: DecodeTimes
    resize_s: float = 0.0
    lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, decode_s: float, resize_s: float) -> None:
        with self.lock:
            self.decode.decode_s += decode_s
            self.decode.frames_decoded += 1
            self.resize_s += resize_s


class InputWorkers:
    """A pool of threads turning (video, frame) into a uint8 tensor [3, h, w] at model size.

    `resize`: uint8 [1, 3, H, W] -> uint8 [1, 3, h, w] (the method's resize rule), or None to
    hand over decoded frames (a method whose `preprocess` cannot be split in two). `normalise`:
    the method's normalisation after the resize, where the model runs on the CPU (the workers'
    threads are then on the model's device, and the main thread is spared it), or None. `pin`:
    put each frame in page-locked memory (a copy to a GPU that does not block the main thread).
    """

    def __init__(
        self,
        workers: int,
        source: FrameSource,
        resize: Callable[[torch.Tensor], torch.Tensor] | None,
        times: InputTimes,
        pin: bool = False,
        normalise: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.workers = max(1, int(workers))
        self.normalise = normalise if resize is not None else None
        self.source, self.resize, self.times, self.pin = source, resize, times, pin
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix=THREAD_PREFIX)

    def submit(self, video: Any, frame: int) -> Future:
        return self.pool.submit(self._frame, video, frame)

    def _frame(self, video: Any, frame: int) -> torch.Tensor:
        try:
            start = time.perf_counter()
            decoded = np.asarray(self.source.read_frames(video, [frame]))[0]
            read = time.perf_counter()
            out = torch.from_numpy(np.ascontiguousarray(decoded)).permute(2, 0, 1)
            if self.resize is not None:
                # planar before the float resize: the same values (tested), a fifth fewer CPU
                # seconds than resizing the interleaved (channels-last) layout
                out = self.resize(out[None].contiguous())[0]
            if self.normalise is not None:
                out = self.normalise(out[None])[0]  # elementwise: a frame alone as in its clip
            out = out.contiguous()
            if self.pin:
                out = out.pin_memory()
            self.times.add(read - start, time.perf_counter() - read)
            return out
        except InputError:
            raise
        except Exception as err:
            raise InputError(
                f"frame {frame} of video {getattr(video, 'id', video)} could not be read by an "
                f"input worker: {type(err).__name__}: {err}; rerun with "
                "--set measure.input_workers=0 to read it on the main thread"
            ) from None

    def close(self) -> None:
        """Stop: queued frames are dropped, running ones finish, every thread is joined."""
        self.pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Window:
    clip: ClipFrames
    futures: list[Future]
    new: int
    stacked: _Stacked


class _Stacked:
    """A window's frames as one tensor, once the worker that reads its last frame has stacked
    them (`stack_when_read`), or the error of a frame that could not be read."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._frames: torch.Tensor | None = None
        self._error: BaseException | None = None

    def set(self, frames: torch.Tensor | None, error: BaseException | None = None) -> None:
        self._frames, self._error = frames, error
        self._done.set()

    def take(self) -> torch.Tensor:
        """The stacked frames (waiting for them), handed over: this holds them no longer."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        frames, self._frames = self._frames, None
        assert frames is not None, "a window's frames are taken once"
        return frames


def stack_when_read(futures: list[Future]) -> _Stacked:
    """The frames of `futures` stacked into one tensor by the worker that reads the last of
    them, while the model runs an earlier window: a whole video's window is a copy of some
    100 MB at a 360x640 input, which on the main thread would come between two model calls.
    `futures` (the window's list) is emptied then, so the window holds its frames once; those a
    later window covers stay in the ring. Nothing here refers to the window, so a frame the
    ring still holds keeps no window's frames alive."""
    stacked = _Stacked()
    if not futures:
        stacked.set(torch.zeros(0, 3, 0, 0))
        return stacked
    left = [len(futures)]
    lock = threading.Lock()

    def one_read(_: Future) -> None:
        with lock:
            left[0] -= 1
            if left[0]:
                return
        try:
            stacked.set(torch.stack([future.result() for future in futures]))
        except BaseException as err:  # a frame's InputError, or reads cancelled at the end
            stacked.set(None, err)
        finally:
            futures.clear()

    for future in list(futures):
        future.add_done_callback(one_read)
    return stacked


def pooled_clips(
    pool: InputWorkers,
    videos: list[Any],
    passes: Callable[[Any], list[list[range]]],
    ahead: int | None = None,
) -> Iterator[ClipFrames]:
    """Every window of every pass of every video in order (as `prefetched_clips`), its frames
    read and resized by `pool` while earlier windows run: windows are handed to the pool until
    at least `ahead` frames (default: 4 per worker) are in flight, and always the next
    WINDOWS_AHEAD (the frames held: those windows' and the current one's).
    `clip.frames` is a tensor [t, 3, h, w]: uint8 (at model size where the pool resizes), or
    the model's float input where it normalises too."""
    ahead = ahead if ahead is not None else 4 * pool.workers
    plan = _submitted(pool, videos, passes)
    pending: collections.deque[_Window] = collections.deque()
    in_flight = 0

    def submit_ahead() -> None:
        nonlocal in_flight
        while len(pending) < WINDOWS_AHEAD or in_flight < ahead:
            window = next(plan, None)
            if window is None:
                return
            pending.append(window)
            in_flight += window.new

    try:
        while True:
            submit_ahead()
            if not pending:
                return
            window = pending.popleft()
            in_flight -= window.new
            # the next window goes to the pool before this one is handed over, so the workers
            # read it while the model runs this one (a whole video's window included)
            submit_ahead()
            window.clip.frames = window.stacked.take()
            yield window.clip
    finally:
        for window in pending:
            for future in window.futures:
                future.cancel()
        plan.close()
        pool.close()


def _submitted(
    pool: InputWorkers, videos: list[Any], passes: Callable[[Any], list[list[range]]]
) -> Iterator[_Window]:
    """Each window with its frames' futures; a frame is submitted once per pass and kept (in the
    ring) while a later window of the pass covers it."""
    for video in videos:
        video_passes = passes(video)
        for number, windows in enumerate(video_passes):
            ring: dict[int, Future] = {}
            for index, (new, done) in enumerate(frame_ring(windows)):
                for frame in new:
                    ring[frame] = pool.submit(video, frame)
                futures = [ring[f] for f in windows[index]]
                for frame in done:
                    del ring[frame]
                clip = ClipFrames(video, index, windows, None, number, len(video_passes))
                yield _Window(clip, futures, len(new), stack_when_read(futures))
