"""Shortcuts taken for speed give exactly what the straightforward computation gives."""

from __future__ import annotations

import numpy as np
import pytest

from vis_bench.errors import InputError
from vis_bench.eval.metric.accumulate import _first_reaching, _precision_at_recalls
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


def _searched_precision(hits: np.ndarray, precision: np.ndarray, npig: np.ndarray) -> np.ndarray:
    """The official way, row by row: search each recall threshold in recall = tp / npig and
    read the precision there (0 past the row's results)."""
    out = []
    for row, pr, n in zip(hits, precision, npig, strict=True):
        found = np.searchsorted(np.cumsum(row) / n, RECALL_THRESHOLDS, side="left")
        out.append(np.where(found < len(row), pr[np.minimum(found, len(row) - 1)], 0.0))
    return np.stack(out)


@pytest.mark.parametrize("seed", range(8))
def test_precision_at_recalls_equals_a_float_search_per_row(seed):
    """Rows with no hit, with fewer hits than GT (thresholds never reached) and with more GT
    than result slots, all in one call, as a batch of categories is computed."""
    rng = np.random.default_rng(seed)
    rows, width = int(rng.integers(1, 40)), int(rng.integers(1, 30))
    npig = rng.integers(1, 60, size=rows)
    hits = rng.random((rows, width)) < rng.uniform(0, 0.8)
    counts = np.cumsum(hits, axis=1)
    hits &= counts <= npig[:, None]  # never more TPs than GT tracks
    counts = np.cumsum(hits, axis=1)
    precision = np.sort(rng.random((rows, width)), axis=1)[:, ::-1]  # non-increasing
    got = _precision_at_recalls(hits, counts, precision, _first_reaching(npig))
    np.testing.assert_array_equal(got, _searched_precision(hits, precision, npig))


@pytest.mark.parametrize("case", ["lvvis_eval/public/case_07", "ytvis_eval/public/case_01"])
def test_categories_in_batches_give_the_arrays_of_one_batch(golden_dir, case, monkeypatch):
    """accumulate pads categories of similar result counts into batches; a batch per category
    (the smallest cap) gives the arrays of one batch for all, bit for bit."""
    from vis_bench.eval.api import evaluate_files
    from vis_bench.eval.metric import accumulate

    folder = golden_dir / case
    whole = evaluate_files(folder / "gt.json", folder / "results.json")
    monkeypatch.setattr(accumulate, "_MAX_PADDED", 1)
    apart = accumulate.accumulate(whole.pairs, whole.matches, None)
    np.testing.assert_array_equal(apart.precision, whole.precision)
    np.testing.assert_array_equal(apart.recall, whole.recall)
