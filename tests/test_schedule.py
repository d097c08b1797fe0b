"""The clip schedule follows IFC's rule: stride steps, last window right-aligned, then stop."""

from __future__ import annotations

import pytest

from vis_bench.engine.schedule import clip_windows, default_stride


def spans(windows):
    return [(w.start, w.stop) for w in windows]


def test_whole_video_is_one_clip():
    assert spans(clip_windows(12, "all")) == [(0, 12)]
    assert spans(clip_windows(12, 36, 1)) == [(0, 12)]


def test_near_online_stride_one_ends_on_last_frame():
    assert spans(clip_windows(7, 5, 1)) == [(0, 5), (1, 6), (2, 7)]


def test_last_window_is_shifted_left_to_the_end():
    assert spans(clip_windows(10, 4, 3)) == [(0, 4), (3, 7), (6, 10)]
    assert spans(clip_windows(11, 4, 3)) == [(0, 4), (3, 7), (6, 10), (7, 11)]


def test_window_reaching_the_end_exactly_is_last():
    assert spans(clip_windows(10, 5, 5)) == [(0, 5), (5, 10)]


def test_default_stride_half_overlaps():
    assert default_stride(5) == 3
    assert spans(clip_windows(9, 5)) == [(0, 5), (3, 8), (4, 9)]


def test_every_frame_is_covered():
    for length in range(1, 30):
        for t in (1, 2, 5, 10):
            for s in (s for s in (1, 2, 3, 7) if s <= t):
                covered = set()
                for w in clip_windows(length, t, s):
                    covered.update(w)
                assert covered == set(range(length)), (length, t, s)


def test_bad_arguments():
    assert clip_windows(0, 5) == []
    with pytest.raises(ValueError):
        clip_windows(10, 5, 0)
    with pytest.raises(ValueError, match="stride <= clip length"):
        clip_windows(10, 2, 3)
