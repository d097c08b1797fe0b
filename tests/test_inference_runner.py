"""The runner's timers: one-time costs of the first clip stay out of the end-to-end time."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from tests.helpers.toy_method import ToyPlugin
from vis_bench.inference.runner import run_method

FIRST_CALL_SECONDS = 0.5


@dataclass
class _Video:
    id: int
    height: int
    width: int
    length: int


class _Source:
    def __init__(self) -> None:
        self._videos = [_Video(1, 16, 24, 6), _Video(2, 16, 24, 4)]

    def videos(self):
        return self._videos

    def read_frames(self, video, indices):
        frames = np.zeros((len(indices), video.height, video.width, 3), np.uint8)
        for k, t in enumerate(indices):
            frames[k, 2:8, 2 + t : 8 + t] = 255
        return frames


class _SlowFirstCall(ToyPlugin):
    """The toy method with a one-time cost, like a kernel built on first use."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.calls = 0

    def infer_clip(self, frames: torch.Tensor):
        self.calls += 1
        if self.calls == 1:
            time.sleep(FIRST_CALL_SECONDS)
        return super().infer_clip(frames)


@pytest.mark.parametrize("warmup", [0, 1])
def test_end_to_end_time_leaves_out_the_first_clips_one_time_cost(warmup: int) -> None:
    plugin = _SlowFirstCall({})
    outcome = run_method(
        plugin, _Source(), clip_length=4, stride=None, resolution=None, warmup=warmup, repeats=1
    )
    if warmup:
        assert outcome.seconds_end_to_end < FIRST_CALL_SECONDS
    else:
        assert outcome.seconds_end_to_end >= FIRST_CALL_SECONDS
    reference = run_method(
        ToyPlugin({}), _Source(), clip_length=4, stride=None, resolution=None, warmup=0, repeats=1
    )
    assert outcome.results == reference.results  # the untimed clip changes no prediction
