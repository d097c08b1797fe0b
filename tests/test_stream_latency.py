"""The live-stream replay's accounting, exactly, on toy clip schedules."""

from __future__ import annotations

import numpy as np
import pytest

from vis_bench.engine.schedule import clip_windows
from vis_bench.measure.stream import (
    ClipTiming,
    frames_for_rank,
    frames_needed,
    percentile_bound,
    replay_video,
    summarize,
)


def _clips(length, t, s, seconds):
    return [ClipTiming(window, seconds) for window in clip_windows(length, t, s)]


def test_online_frames_wait_one_clip_as_fast_as_taken():
    stream = replay_video(_clips(6, 1, 1, 0.02), 6, fps=None)
    np.testing.assert_allclose(stream.latency, 0.02)  # each frame: its own clip's time
    np.testing.assert_allclose(stream.arrival, 0.02 * np.arange(6))


def test_near_online_frames_wait_for_their_last_clip():
    # T=3, S=1 over 5 frames: clips [0,3) [1,4) [2,5), 0.1 s each, frames at 10 fps
    stream = replay_video(_clips(5, 3, 1, 0.1), 5, fps=10.0)
    # clip k starts when frame k+2 arrives (0.2, 0.3, 0.4 s), so it ends at 0.3, 0.4, 0.5 s;
    # frame t is final when the last clip covering it ends
    np.testing.assert_allclose(stream.final, [0.3, 0.4, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(stream.latency, [0.3, 0.3, 0.3, 0.2, 0.1])


def test_offline_latency_is_the_whole_video():
    stream = replay_video(_clips(4, 4, 4, 1.0), 4, fps=2.0)  # one clip, 1 s, frames every 0.5 s
    np.testing.assert_allclose(stream.final, 2.5)
    np.testing.assert_allclose(stream.latency, [2.5, 2.0, 1.5, 1.0])


def test_a_slow_method_falls_behind_and_drops_at_real_time_rate():
    # 1 frame per clip, 0.3 s per clip, frames every 0.1 s: frame t waits 0.2 t s
    stream = replay_video(_clips(5, 1, 1, 0.3), 5, fps=10.0)
    np.testing.assert_allclose(stream.waited, [0.0, 0.2, 0.4, 0.6, 0.8])
    # a one-frame buffer overflows on every frame that waited more than one frame interval
    assert summarize([stream], clip_frames=1, fps=10.0).dropped == 4
    fast = replay_video(_clips(5, 1, 1, 0.05), 5, fps=10.0)
    assert summarize([fast], clip_frames=1, fps=10.0).dropped == 0


def test_summary_percentiles_and_first_result():
    streams = [replay_video(_clips(4, 1, 1, 0.01), 4, None) for _ in range(3)]
    summary = summarize(streams, clip_frames=1, fps=None)
    assert summary.frames == 12 and summary.dropped is None
    assert summary.latency_ms["p50"] == pytest.approx(10.0)
    assert summary.first_result_ms == pytest.approx(10.0)
    assert summary.latency_bound_ms["p99"] is None  # 12 frames cannot bound a p99
    assert summary.as_dict()["arrival"] == "as fast as taken"


def test_percentile_bounds_need_enough_frames():
    assert frames_needed(99) == 459  # 0.99^459 <= 0.01 < 0.99^458
    assert frames_for_rank(458, 0.99) is None and frames_for_rank(459, 0.99) == 459
    samples = np.arange(1, 1001, dtype=float)  # 1000 frames, 1..1000 ms
    bound = percentile_bound(samples, 99)
    assert 990 < bound <= 1000  # above the sample p99 (990), within the data
    assert percentile_bound(samples, 50) > np.percentile(samples, 50)


def test_clips_that_miss_a_frame_are_an_error():
    with pytest.raises(ValueError, match="cover 2 of 3 frames"):
        replay_video([ClipTiming(range(0, 2), 0.1)], 3, None)
