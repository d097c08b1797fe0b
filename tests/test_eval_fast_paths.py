"""Shortcuts taken for speed give exactly what the straightforward computation gives."""

from __future__ import annotations

import numpy as np
import pytest

from vis_bench.errors import InputError
from vis_bench.eval.metric.accumulate import _recall_positions
from vis_bench.eval.metric.loading import _mean_of_truthy, _result_frames
from vis_bench.eval.metric.params import RECALL_THRESHOLDS
from vis_bench.formats import rle


@pytest.mark.parametrize(
    "areas",
    [
        [1, 2, 2],
        [None, 0, 3, 5, 8],
        [16384, 16384, 16385],
        [7, 7.5, None],  # floats: numpy's own mean
        [True, 3],
        [2**53, 1],  # too large for an exact float sum: numpy's own mean
        [None, 0],
        [],
    ],
)
def test_mean_of_truthy_equals_the_numpy_mean(areas):
    kept = [v for v in areas if v]
    want = float(np.array(kept).mean()) if kept else 0.0
    assert _mean_of_truthy(areas) == want


def test_integer_means_are_correctly_rounded_like_numpy():
    rng = np.random.default_rng(0)
    for _ in range(200):
        areas = rng.integers(1, 10**6, int(rng.integers(1, 40))).tolist()
        assert _mean_of_truthy(areas) == float(np.array(areas).mean())


def test_result_frames_normalise_falsy_entries():
    seg = rle.encode(np.eye(3, dtype=np.uint8))
    assert _result_frames([seg, None, seg], "r.json", 0, 1) == [seg, None, seg]
    assert _result_frames([seg, [], {}, 0, None], "r.json", 0, 1) == [seg, None, None, None, None]


def test_result_frames_still_name_the_bad_frame():
    seg = rle.encode(np.eye(3, dtype=np.uint8))
    with pytest.raises(InputError, match=r"result 4 \(video_id 9\) segmentations\[1\]"):
        _result_frames([seg, {"size": [3, 3]}], "r.json", 4, 9)


@pytest.mark.parametrize("seed", range(5))
def test_recall_positions_equal_a_float_search_per_row(seed):
    rng = np.random.default_rng(seed)
    npig = int(rng.integers(1, 60))
    nd = int(rng.integers(1, 80))
    tp = np.cumsum(rng.random((10, nd)) < 0.4, axis=1).astype(np.float64)
    tp = np.minimum(tp, npig)
    want = np.stack([np.searchsorted(row / npig, RECALL_THRESHOLDS, side="left") for row in tp])
    np.testing.assert_array_equal(_recall_positions(tp, npig), want)


@pytest.mark.parametrize("seed", range(5))
def test_recall_positions_with_a_gt_count_per_row(seed):
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 80))
    npig = rng.integers(1, 60, size=12)
    tp = np.cumsum(rng.random((12, nd)) < 0.4, axis=1).astype(np.float64)
    tp = np.minimum(tp, npig[:, None])
    want = np.stack(
        [
            np.searchsorted(row / n, RECALL_THRESHOLDS, side="left")
            for row, n in zip(tp, npig, strict=True)
        ]
    )
    np.testing.assert_array_equal(_recall_positions(tp, npig), want)
