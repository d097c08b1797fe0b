"""Decoded frames for the runner, one clip window at a time, decoded ahead in a background thread.

A video is never decoded whole unless its schedule has one clip (T = all, or T >= its length:
then the method's forward takes the whole video anyway). Otherwise each window decodes only the
frames an earlier window did not, and a decoded frame is kept only while a later window still
covers it, so with overlapping windows no frame is decoded twice and the frames held are about
two windows' worth, whatever the video's length. Decoding runs one window ahead of the model.
A method that refines whole videos gets a second pass over each video's frames after its clips
(the second of the passes `prefetched_clips` is given), decoded the same way: nothing is kept
between passes.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class FrameSource(Protocol):
    """What the runner needs of a dataset."""

    def videos(self) -> list[Any]: ...

    def read_frames(self, video: Any, indices: list[int]) -> np.ndarray:
        """uint8 RGB frames [t, H, W, 3]; called from the input workers' threads, several at
        once unless the source has `parallel_reads` False (then from one thread, in order)."""
        ...


@dataclass
class ClipFrames:
    """One window of one video: its frames, in the form its input stage makes them (decoded
    `[t, H, W, 3]` here; from the input workers a tensor `[t, 3, h, w]`: input_stage.py chooses
    the form, and with it the one way it becomes the model's input), and where it sits (its
    pass: 0 the clips the method infers, 1 a second pass over the frames for whole-video
    refinement)."""

    video: Any
    index: int
    windows: list[range]
    frames: Any
    pass_index: int = 0
    passes: int = 1

    @property
    def window(self) -> range:
        return self.windows[self.index]

    @property
    def ends_pass(self) -> bool:
        return self.index == len(self.windows) - 1

    @property
    def is_last(self) -> bool:
        """The video's last window (of its last pass)."""
        return self.ends_pass and self.pass_index == self.passes - 1


@dataclass
class DecodeTimes:
    """Seconds spent in `read_frames` (in the decoding thread) and frames decoded."""

    decode_s: float = 0.0
    frames_decoded: int = 0


def frame_ring(windows: list[range]) -> Iterator[tuple[list[int], list[int]]]:
    """The ring of frames a pass over `windows` keeps: per window, the frames no earlier window
    covered (to read: every frame is read once) and those no later window covers (to let go
    once this window has them), so the frames kept are about two windows' worth."""
    last_use: dict[int, int] = {}
    for index, window in enumerate(windows):
        for frame in window:
            last_use[frame] = index
    kept: set[int] = set()
    for index, window in enumerate(windows):
        new = [f for f in window if f not in kept]
        kept.update(new)
        done = [f for f in window if last_use[f] == index]
        kept.difference_update(done)
        yield new, done


def window_frames(
    source: FrameSource, video: Any, windows: list[range], times: DecodeTimes | None = None
) -> Iterator[np.ndarray]:
    """Each window's frames in order; every frame decoded once, kept while a later window needs it."""
    times = times if times is not None else DecodeTimes()
    cache: dict[int, np.ndarray] = {}
    for window, (missing, done) in zip(windows, frame_ring(windows), strict=True):
        decoded = None
        if missing:
            start = time.perf_counter()
            decoded = source.read_frames(video, missing)
            times.decode_s += time.perf_counter() - start
            times.frames_decoded += len(missing)
            cache.update(zip(missing, decoded, strict=True))
        if decoded is not None and len(missing) == len(window):
            frames = decoded  # nothing reused: no copy (the whole video when T = all)
        else:
            frames = np.stack([cache[f] for f in window])
        for frame in done:
            del cache[frame]
        yield frames


def prefetched_clips(
    source: FrameSource,
    videos: list[Any],
    passes: Callable[[Any], list[list[range]]],
    times: DecodeTimes | None = None,
) -> Iterator[ClipFrames]:
    """Every window of every pass of every video in order (a video's passes: its clips, then,
    for a method that refines whole videos, the second pass's windows), decoded by a background
    thread one window ahead."""
    slots: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def work() -> None:
        try:
            for video in videos:
                video_passes = passes(video)
                for number, windows in enumerate(video_passes):
                    decoded = window_frames(source, video, windows, times)
                    for index, frames in enumerate(decoded):
                        if stop.is_set():
                            return
                        clip = ClipFrames(video, index, windows, frames, number, len(video_passes))
                        slots.put((clip, None))
        except BaseException as err:  # surfaced in the consumer thread
            slots.put((None, err))
            return
        slots.put(None)

    thread = threading.Thread(target=work, name="vis-bench-frames", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is None:
                return
            clip, err = item
            if err is not None:
                raise err
            yield clip
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get_nowait()
            thread.join(timeout=0.05)
