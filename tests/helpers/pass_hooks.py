"""Hooks a test adds to a pass of the runner."""

from __future__ import annotations

from vis_bench.inference.pass_hooks import PassHooks


class StopAfterFrames(PassHooks):
    """Ends the pass after the video that brings it to `frames` frames (as a timed round that
    has covered enough)."""

    def __init__(self, frames: int) -> None:
        self.frames = frames

    def should_stop(self, frames: int, seconds: float) -> bool:
        return frames >= self.frames
