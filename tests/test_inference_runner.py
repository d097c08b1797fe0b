"""The runner's timers: one-time costs of the first clip stay out of the end-to-end time."""

from __future__ import annotations

import time

import pytest
import torch

from tests.helpers.memory_source import MemorySource
from tests.helpers.toy_method import ToyPlugin
from vis_bench.inference.runner import run_method

FIRST_CALL_SECONDS = 0.5


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
        plugin,
        MemorySource(lengths=(6, 4), size=(16, 24)),
        clip_length=4,
        stride=None,
        resolution=None,
        warmup=warmup,
        repeats=1,
    )
    if warmup:
        assert outcome.seconds_end_to_end < FIRST_CALL_SECONDS
    else:
        assert outcome.seconds_end_to_end >= FIRST_CALL_SECONDS
    reference = run_method(
        ToyPlugin({}),
        MemorySource(lengths=(6, 4), size=(16, 24)),
        clip_length=4,
        stride=None,
        resolution=None,
        warmup=0,
        repeats=1,
    )
    assert outcome.results == reference.results  # the untimed clip changes no prediction
