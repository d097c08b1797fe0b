"""The model stage timed by device events read at each video's end: the bookkeeping, run on the
CPU with stand-in events that read the wall clock (a CUDA event is one only on a GPU)."""

from __future__ import annotations

import functools
import time

import pytest

from tests.helpers.memory_source import MemorySource
from tests.helpers.toy_method import ToyPlugin
from vis_bench.inference import runner, untimed_calls
from vis_bench.inference.model_events import ModelEvents, uses_events
from vis_bench.inference.runner import run_method


class _WallEvent:
    """What the pass needs of a CUDA event, on the wall clock; counts the waits."""

    waits = 0

    def record(self) -> None:
        self.at = time.perf_counter()

    def synchronize(self) -> None:
        type(self).waits += 1

    def elapsed_time(self, end: _WallEvent) -> float:
        return 1000.0 * (end.at - self.at)


class _SlowToy(ToyPlugin):
    def infer_clip(self, frames):
        time.sleep(0.002)
        return super().infer_clip(frames)


def _run(**kwargs):
    return run_method(
        _SlowToy(ToyPlugin.parse_options({})),
        MemorySource(lengths=(6, 5, 4), size=(24, 32)),
        clip_length=2,
        stride=1,
        resolution=None,
        **kwargs,
    )


def test_events_time_the_model_and_are_read_once_per_video(monkeypatch) -> None:
    synced: list[str] = []
    monkeypatch.setattr(runner, "uses_events", lambda device, compiling: True)
    monkeypatch.setattr(runner, "ModelEvents", functools.partial(ModelEvents, event=_WallEvent))
    monkeypatch.setattr(runner, "synchronize", lambda device: synced.append(str(device)))
    monkeypatch.setattr(untimed_calls, "synchronize", lambda device: synced.append(str(device)))
    _WallEvent.waits = 0
    outcome = _run()
    assert _WallEvent.waits == 3  # one wait per video, none per clip
    assert synced == ["cpu"] * 3  # the warm-up and the timed region's two ends, no clip
    calls = 5 + 4 + 3  # T=2 S=1 clips of 6, 5 and 4 frames
    assert outcome.harness.model_s >= calls * 0.002
    assert outcome.harness.as_record(outcome.seconds_end_to_end, 15)["stage_overlap_s"] >= 0.0
    assert outcome.results == _run().results


def test_events_only_on_a_gpu_without_a_compiler() -> None:
    assert not uses_events("cpu", compiling=False)
    assert not uses_events("cuda", compiling=True)


@pytest.mark.parametrize("pending", [0, 2])
def test_settle_adds_each_pair_once(pending: int) -> None:
    from vis_bench.inference.overhead import HarnessTimes

    times = HarnessTimes()
    events = ModelEvents(times, event=_WallEvent)
    for _ in range(pending):
        events.start()
        time.sleep(0.001)
        events.stop(0.5)
    events.settle()
    first = times.model_s
    events.settle()
    assert times.model_s == first and (first > 0) == (pending > 0)
    assert times.preprocess_s == 0.5 * pending
