"""The model stage timed on a GPU without the host waiting for it after every clip.

On a CPU the model stage is the wall clock around each call into the method (its preprocessing
taken out), as `HarnessTimes.add_model` counts it. On a GPU a wall clock needs the device
synchronised after each call, which stops the host from preparing the next clip, stitching or
encoding while the device computes. `ModelEvents` instead records a pair of CUDA events around
the model part of each call (after the clip's frames are on the device and normalised) and
reads them once, at the end of each video (`settle`): the stage's seconds are the device's time
between the events, and the host's stages overlap them. The overlap is stated in the record
(`harness.stage_overlap_s`: how much the stages' sum exceeds the pass).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch


class StageSeconds(Protocol):
    """Where the seconds go (the pass's `HarnessTimes`)."""

    model_s: float
    preprocess_s: float


def cuda_event() -> Any:
    return torch.cuda.Event(enable_timing=True)


def uses_events(device: str, compiling: bool) -> bool:
    """Whether a pass on `device` times its model stage with events: on a CUDA device, unless a
    compiler runs (its seconds are taken out by the wall clock)."""
    return str(device).startswith("cuda") and torch.cuda.is_available() and not compiling


class ModelEvents:
    """A pair of device events around each model call, read when a video ends."""

    def __init__(self, times: StageSeconds, event: Callable[[], Any] = cuda_event) -> None:
        self.times, self.event = times, event
        self._start: Any = None
        self._pending: list[tuple[Any, Any]] = []

    def start(self) -> None:
        """The model part of a call begins (its inputs are queued on the device)."""
        self._start = self.event()
        self._start.record()

    def stop(self, preprocess_s: float) -> None:
        """The call's model part is queued; its preprocessing seconds go to the data stage."""
        end = self.event()
        end.record()
        if self._start is not None:
            self._pending.append((self._start, end))
        self._start = None
        self.times.preprocess_s += preprocess_s

    def settle(self) -> None:
        """Wait for the last recorded event once and add every pair's seconds to the model
        stage (the end of a video)."""
        if not self._pending:
            return
        self._pending[-1][1].synchronize()
        for start, end in self._pending:
            self.times.model_s += start.elapsed_time(end) / 1000.0
        self._pending.clear()
