"""The linking stage on a thread of its own, one window behind the model.

Without it the main thread links a window (stitching, the final frames handed to the encoder, a
finished video's results) after the window's model call returns, and the next call waits for
that. With it the main thread hands the linking over and goes on with the next window's call:
the linking of one window overlaps the model of the next (on a GPU on a stream of its own:
linking_stream.py). One job is in flight at a time (the next is handed over only once it is
done), so at most one window, a video's last included, is being linked while the next runs, and
jobs finish in the order given: results keep video order. An error raised by a job is raised
again, the same exception, on the main thread when it next hands a job over or waits (`wait`).

A call waits for the linking before it only where it needs it (runner.py): a method that carries
a state from clip to clip, or is given each frame once, reads the linker's state for its next
call; a refining method's refinement needs its video's last clip linked; and a video's first
call waits for the video before it where the method resizes its masks itself
(`waits_between_videos`). Every other call, a stitched method's next clip and any method's next
video, runs while the window before it is linked. A clip's seconds (the live-stream replay's)
are the main thread's, less its waits for earlier windows' linking, plus its own linking's.

`resolve_linking_thread`: `auto` runs it where the model runs on a GPU. On a CPU the
model's threads are the cores: the linking would only take them from it (its numpy and Python
work mostly holds one core, and under the GIL its Python parts take turns with the model's), so
the pass links on the main thread there unless asked (`bench_harness_ceiling.py` asks, its
stand-in waiting off the CPU as a GPU model does).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch

from vis_bench.api.execution import no_grad_region
from vis_bench.inference.linking_stream import StreamOrder

THREAD_PREFIX = "vis-bench-linking"


def resolve_linking_thread(setting: bool | str, device: str, timed_by_events: bool) -> bool:
    """Whether a pass links on its own thread: as given, or `auto`: where the model runs on a
    GPU whose model stage is timed by its events (model_events.py; see the module docstring).
    While compiling, each call is timed by the wall clock with the device synchronised, which
    would wait for the linking's device work too, so `auto` links on the main thread then."""
    if setting == "auto":
        return timed_by_events and not str(device).startswith("cpu")
    if not isinstance(setting, bool):
        raise ValueError(f"linking_thread must be True, False or 'auto', got {setting!r}")
    return setting


def waits_between_videos(plugin: Any) -> bool:
    """Whether a video's first call waits until the video before it is linked: where the
    method resizes its masks with its own `masks_to_video` and declares no `mask_cut`, since
    such a resize may read what the method's latest call set (a crop to the valid part of its
    padded input), which the next video's call changes. A `mask_cut` declares the
    resize a plain bilinear one; the other hooks the linking calls (`track_predictions`,
    `video_predictions`) read their arguments and the method's options. Within a video the
    calls see frames of one size, and a method that carries a state waits for it anyway."""
    own_resize = getattr(plugin, "masks_to_video", None) is not None
    return own_resize and getattr(plugin, "mask_cut", None) is None


class LinkingThread:
    """Runs a pass's linking jobs in order, on one thread (or at once on the calling thread when
    off). A job's `done(value, seconds)` runs on the calling thread, in order, once the job has
    finished; `seconds` are the job's own. `waited_s` counts the calling thread's seconds inside
    `submit` and `wait` (a job run at once included), so that a caller can take them out of its
    own timing and add each job's seconds instead."""

    def __init__(self, enabled: bool, device: str = "cpu") -> None:
        self.enabled = enabled
        self.device = device
        self.waited_s = 0.0
        self._pool: ThreadPoolExecutor | None = None
        self._pending: tuple[Future, Callable[[Any, float], None]] | None = None
        #: on a CUDA device, the thread's own stream (linking_stream.py)
        self._order: StreamOrder | None = None
        if enabled:
            index = _cuda_index(device)
            self._order = StreamOrder(index) if index is not None else None
            self._pool = ThreadPoolExecutor(
                1, thread_name_prefix=THREAD_PREFIX, initializer=_on_device, initargs=(index,)
            )

    def submit(self, job: Callable[[], Any], done: Callable[[Any, float], None]) -> None:
        """Run `job` after the one in flight (waiting for that one first)."""
        start = time.perf_counter()
        try:
            self._settle()
            if self._pool is None:
                done(*_timed(job))
            else:
                if self._order is not None:
                    job = self._order.hand_over(job)
                self._pending = (self._pool.submit(_in_pass, job), done)
        finally:
            self.waited_s += time.perf_counter() - start

    def wait(self) -> None:
        """The job in flight finished and its `done` called (its error raised here)."""
        start = time.perf_counter()
        try:
            self._settle()
        finally:
            self.waited_s += time.perf_counter() - start

    def _settle(self) -> None:
        if self._pending is None:
            return
        future, done = self._pending
        self._pending = None
        done(*future.result())

    def close(self) -> None:
        """Let the job in flight end and the thread exit (an error it raised, not yet waited
        for, is dropped: the caller is ending on an error of its own)."""
        self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _cuda_index(device: str) -> int | None:
    """The pass's CUDA device (the caller's current one for a bare `cuda`), or None."""
    if not str(device).startswith("cuda") or not torch.cuda.is_available():
        return None
    index = torch.device(device).index
    return torch.cuda.current_device() if index is None else index


def _on_device(index: int | None) -> None:
    """The thread's current CUDA device is the pass's (a new thread starts on device 0)."""
    if index is not None:
        torch.cuda.set_device(index)


def _in_pass(job: Callable[[], Any]) -> tuple[Any, float]:
    """A job on the thread, in the grad mode the pass runs the method in (thread-local)."""
    with no_grad_region():
        return _timed(job)


def _timed(job: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = job()
    return value, time.perf_counter() - start
