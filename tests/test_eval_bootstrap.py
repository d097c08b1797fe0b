"""Bootstrap intervals and paired comparisons: re-accumulation equals scoring the resampled files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers.vis_cases import make_gt, predict, public, resampled
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files, evaluate_loaded
from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list
from vis_bench.eval.stats.bootstrap import (
    bootstrap,
    paired_difference,
    paired_intervals,
    resample_weights,
)
from vis_bench.eval.stats.resample import RESAMPLED_STATS, WeightedAccumulator
from vis_bench.eval.stats.video_matches import VideoMatches

CASES = [f"case_{i:02d}" for i in range(1, 9)]


def _evaluate(gt: dict, results: list[dict]):
    loaded = ground_truth_from_dict(public(gt))
    return evaluate_loaded(loaded, results_from_list(results, loaded))


def _matches(result) -> VideoMatches:
    return VideoMatches.from_pairs(result.pairs, result.matches)


@pytest.fixture(scope="module")
def golden(golden_dir):
    def load(case):
        folder = golden_dir / "ytvis_eval" / "public" / case
        gt = json.loads((folder / "gt.json").read_text())
        res = json.loads((folder / "results.json").read_text())
        return gt, res, evaluate_files(folder / "gt.json", folder / "results.json")

    return load


@pytest.mark.parametrize("case", CASES)
def test_unit_weights_give_the_official_numbers_exactly(golden, case):
    _, _, result = golden(case)
    matches = _matches(result)
    stats = WeightedAccumulator(matches).stats(np.ones(matches.n_videos, dtype=np.int64))
    for name in RESAMPLED_STATS:
        assert stats[name] == result.stats[name], name


# ties of scores and IoUs (06), crowd (03), formats and the 100-result cap (07), malformed (08)
@pytest.mark.parametrize("case", ["case_01", "case_03", "case_06", "case_07", "case_08"])
def test_weights_equal_scoring_the_resampled_files(golden, case):
    gt, res, result = golden(case)
    matches = _matches(result)
    accumulator = WeightedAccumulator(matches)
    for weights in resample_weights(matches.n_videos, 4, seed=3):
        expected = _evaluate(
            *resampled(gt, res, dict(zip(matches.video_ids.tolist(), weights, strict=True)))
        )
        got = accumulator.stats(weights)
        for name in RESAMPLED_STATS:
            assert got[name] == pytest.approx(expected.stats[name], abs=1e-12), (name, weights)


def test_copies_of_a_video_with_tied_scores_keep_the_official_order():
    # Two results of one video share a score: copies must come copy by copy, not result by result.
    gt = make_gt(n_videos=3, seed=5, max_tracks=3)
    res = predict(gt, seed=2, jitter=2, false_positives=1.0)
    for r in res:
        r["score"] = 0.5
    result = _evaluate(gt, res)
    matches = _matches(result)
    accumulator = WeightedAccumulator(matches)
    assert accumulator.has_ties
    for weights in ([3, 0, 2], [2, 2, 1], [0, 3, 0]):
        expected = _evaluate(
            *resampled(gt, res, dict(zip(matches.video_ids.tolist(), weights, strict=True)))
        )
        got = accumulator.stats(np.array(weights))
        for name in RESAMPLED_STATS:
            assert got[name] == pytest.approx(expected.stats[name], abs=1e-12), (name, weights)


def test_one_hot_weights_score_a_single_video(golden):
    gt, res, result = golden("case_02")
    matches = _matches(result)
    vid = int(matches.video_ids[2])
    weights = (matches.video_ids == vid).astype(np.int64)
    alone = _evaluate(
        {**gt, "videos": [v for v in gt["videos"] if v["id"] == vid]},
        [r for r in res if r["video_id"] == vid],
    )
    got = WeightedAccumulator(matches).stats(weights)
    assert got["AP"] == pytest.approx(alone.stats["AP"], abs=1e-12)


def test_video_matches_round_trip_through_json(golden):
    _, _, result = golden("case_03")
    matches = _matches(result)
    back = VideoMatches.from_dict(json.loads(json.dumps(matches.to_dict())))
    for name in ("video_ids", "cat_ids", "category", "video", "rank", "score", "tp", "fp"):
        assert np.array_equal(getattr(back, name), getattr(matches, name)), name
    assert np.array_equal(back.gt_count, matches.gt_count)
    with pytest.raises(InputError, match="format"):
        VideoMatches.from_dict({"format": "something else"}, path="x.json")


def test_bootstrap_is_seeded_and_brackets_the_point_estimate():
    gt = make_gt(n_videos=30, seed=1)
    result = _evaluate(gt, predict(gt, seed=4, jitter=2, miss=0.2, false_positives=0.5))
    matches = _matches(result)
    first = bootstrap(matches, replicates=200, seed=7)
    again = bootstrap(matches, replicates=200, seed=7)
    other = bootstrap(matches, replicates=200, seed=8)
    assert first.intervals == again.intervals
    assert first.intervals != other.intervals
    for name in RESAMPLED_STATS:
        low, high = first.intervals[name]
        assert low < result.stats[name] < high, name
    assert set(first.stats_entries()) == {"AP_ci", "AP50_ci", "AP75_ci", "AR10_ci"}


def test_paired_difference_of_a_known_margin_excludes_zero():
    gt = make_gt(n_videos=40, seed=2)
    good = _evaluate(gt, predict(gt, seed=5, jitter=0))
    worse = _evaluate(gt, predict(gt, seed=5, jitter=3))
    diff = paired_difference(
        _matches(good), _matches(worse), good.stats["AP"], worse.stats["AP"], replicates=300
    )
    assert diff.difference == pytest.approx(good.stats["AP"] - worse.stats["AP"])
    assert diff.difference > 0.2
    assert diff.excludes_zero and diff.interval[0] > 0
    assert diff.interval[0] < diff.difference < diff.interval[1]
    assert diff.p_value < 0.01


def test_paired_difference_of_identical_inputs_contains_zero():
    gt = make_gt(n_videos=25, seed=3)
    result = _evaluate(gt, predict(gt, seed=6, jitter=2, miss=0.2))
    same = _matches(result)
    diff = paired_difference(same, same, result.stats["AP"], result.stats["AP"], replicates=100)
    assert diff.interval == (0.0, 0.0)
    assert not diff.excludes_zero
    assert diff.difference == 0.0


def test_paired_difference_needs_the_same_videos():
    a = _evaluate(gt := make_gt(n_videos=5, seed=1), predict(gt))
    b = _evaluate(gt2 := make_gt(n_videos=6, seed=1), predict(gt2))
    with pytest.raises(InputError, match="same ground truth"):
        paired_difference(_matches(a), _matches(b), 0.0, 0.0, replicates=5)


def test_paired_intervals_are_those_of_paired_difference_metric_by_metric():
    gt = make_gt(n_videos=30, seed=4)
    base = _matches(_evaluate(gt, predict(gt, seed=1, jitter=1)))
    now = _matches(_evaluate(gt, predict(gt, seed=2, jitter=1)))
    intervals = paired_intervals(now, base, ("AP", "AP50", "AP75"), replicates=200, seed=0)
    for metric, interval in intervals.items():
        one = paired_difference(now, base, 0, 0, metric, replicates=200, seed=0).interval
        assert interval == one
    assert paired_intervals(base, base, ("AP",), replicates=50)["AP"] == (0.0, 0.0)
    with pytest.raises(InputError, match="not 'APs'"):
        paired_intervals(now, base, ("AP", "APs"), replicates=5)
