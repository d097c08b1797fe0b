"""Greedy matching and accumulation on hand-built IoU tables (no masks involved)."""

from __future__ import annotations

import numpy as np

from vis_bench.eval.metric.accumulate import accumulate
from vis_bench.eval.metric.iou import PairTable
from vis_bench.eval.metric.matching import match
from vis_bench.eval.metric.params import IOU_THRESHOLDS
from vis_bench.eval.metric.summary import summarize

SMALL = 100.0  # a mean area inside "all" and "small"


def make_pairs(pairs: list[dict], n_cats: int = 1, n_videos: int = 1) -> PairTable:
    """pairs: dicts with cat, video, scores, iou [D, G], optional gt_ids, crowd, areas."""
    pairs = sorted(pairs, key=lambda p: (p["cat"], p["video"]))
    dt_count = np.array([len(p["scores"]) for p in pairs])
    gt_count = np.array(
        [
            np.asarray(p["iou"]).reshape(len(p["scores"]), -1).shape[1]
            if len(p["scores"])
            else len(p.get("gt_ids", []))
            for p in pairs
        ]
    )
    sizes = dt_count * gt_count
    gt_ids, crowd, gt_area, dt_area, scores, ranks, ious = [], [], [], [], [], [], []
    next_id = 1
    for p, ng in zip(pairs, gt_count, strict=True):
        ids = p.get("gt_ids") or list(range(next_id, next_id + ng))
        next_id += ng
        gt_ids += ids
        crowd += p.get("crowd", [False] * ng)
        gt_area += p.get("gt_areas", [SMALL] * ng)
        dt_area += p.get("dt_areas", [SMALL] * len(p["scores"]))
        scores += p["scores"]
        ranks += list(range(len(p["scores"])))
        ious.append(np.asarray(p["iou"], dtype=float).ravel())
    n_dt, n_gt = int(dt_count.sum()), int(gt_count.sum())
    return PairTable(
        cat_ids=np.arange(1, n_cats + 1),
        video_ids=np.arange(1, n_videos + 1),
        pair_cat=np.array([p["cat"] for p in pairs]),
        pair_video=np.array([p["video"] for p in pairs]),
        dt_start=np.r_[0, np.cumsum(dt_count)[:-1]].astype(int),
        dt_count=dt_count,
        gt_start=np.r_[0, np.cumsum(gt_count)[:-1]].astype(int),
        gt_count=gt_count,
        iou_start=np.r_[0, np.cumsum(sizes)[:-1]].astype(int),
        dt_result=np.arange(n_dt),
        dt_score=np.array(scores, dtype=float),
        dt_area=np.array(dt_area, dtype=float),
        dt_rank=np.array(ranks),
        gt_track=np.arange(n_gt),
        gt_id=np.array(gt_ids),
        gt_crowd=np.array(crowd, dtype=bool),
        gt_area=np.array(gt_area, dtype=float),
        iou=np.concatenate(ious) if ious else np.zeros(0),
    )


def test_equal_iou_the_later_gt_wins():
    pairs = make_pairs([{"cat": 0, "video": 0, "scores": [0.9], "iou": [[0.7, 0.7]]}])
    m = match(pairs)
    assert (m.dt_gt[0, 0, 0]) == 1  # second GT column


def test_gt_taken_by_better_result_is_not_reused():
    pairs = make_pairs(
        [{"cat": 0, "video": 0, "scores": [0.9, 0.8], "iou": [[0.8, 0.6], [0.9, 0.0]]}]
    )
    m = match(pairs)
    assert m.dt_gt[0, 0].tolist() == [0, -1]  # at IoU 0.5 result 2 finds GT 0 taken
    assert m.dt_matched[0, 0].tolist() == [True, False]


def test_crowd_absorbs_many_results_and_they_are_ignored():
    pairs = make_pairs(
        [
            {
                "cat": 0,
                "video": 0,
                "scores": [0.9, 0.8, 0.7],
                "iou": [[0.9, 0.0], [0.0, 0.6], [0.0, 0.6]],
                "crowd": [False, True],
            }
        ]
    )
    m = match(pairs)
    assert m.dt_gt[0, 0].tolist() == [0, 1, 1]
    assert m.dt_ignored[0, 0].tolist() == [False, True, True]
    acc = accumulate(pairs, m)
    assert acc.recall[0, 0, 0, 2] == 1.0
    assert np.allclose(acc.precision[0, :, 0, 0, 2], 1.0)  # the crowd matches cost nothing


def test_non_ignored_gt_preferred_over_better_ignored_gt():
    pairs = make_pairs(
        [{"cat": 0, "video": 0, "scores": [0.9], "iou": [[0.95, 0.6]], "crowd": [True, False]}]
    )
    assert match(pairs).dt_gt[0, 0, 0] == 1


def test_exact_threshold_iou_matches_with_linspace_doubles():
    pairs = make_pairs([{"cat": 0, "video": 0, "scores": [0.9], "iou": [[0.9]]}])
    m = match(pairs)
    assert IOU_THRESHOLDS[8] == 0.8999999999999999
    assert m.dt_matched[0, :, 0].tolist() == [True] * 9 + [False]


def test_gt_id_zero_reads_as_unmatched_like_official():
    pairs = make_pairs([{"cat": 0, "video": 0, "scores": [0.9], "iou": [[0.8]], "gt_ids": [0]}])
    m = match(pairs)
    assert m.dt_gt[0, 0, 0] == 0 and not m.dt_matched[0, 0, 0]
    acc = accumulate(pairs, m)
    assert acc.recall[0, 0, 0, 2] == 0.0  # the GT is taken but the result counts as FP


def test_area_range_ignores_out_of_range_unmatched_results():
    large = 70000.0
    pairs = make_pairs(
        [
            {
                "cat": 0,
                "video": 0,
                "scores": [0.9, 0.8],
                "iou": [[0.9], [0.0]],
                "dt_areas": [SMALL, large],
            }
        ]
    )
    m = match(pairs)
    # area index 1 = small: the unmatched large result is ignored there, an FP in "all"
    assert m.dt_ignored[1, 0].tolist() == [False, True]
    assert m.dt_ignored[0, 0].tolist() == [False, False]


def test_hand_computed_average_precision():
    # One category, two GT; results by score: TP, FP, TP -> precision 1, 1/2, 2/3 at recall .5, .5, 1.
    pairs = make_pairs(
        [
            {
                "cat": 0,
                "video": 0,
                "scores": [0.9, 0.8, 0.7],
                "iou": [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]],
            }
        ]
    )
    acc = accumulate(pairs, match(pairs))
    p = acc.precision[0, :, 0, 0, 2]
    assert np.allclose(p[:51], 1.0)  # 1 / (1 + eps) like the official code
    assert np.allclose(p[51:], 2 / 3)
    stats = summarize(acc)
    assert abs(stats["AP"] - (51 + 50 * 2 / 3) / 101) < 1e-12
    assert stats["AR1"] == 0.5 and stats["AR10"] == 1.0
    assert stats["APm"] == -1.0  # no medium GT: undefined, not 0


def test_score_ties_keep_video_order_across_videos():
    # Same score in two videos: video 1 (index 0) first, so its FP comes before video 2's TP.
    pairs = make_pairs(
        [
            {"cat": 0, "video": 0, "scores": [0.5], "iou": [[0.0]]},
            {"cat": 0, "video": 1, "scores": [0.5], "iou": [[1.0]]},
        ],
        n_videos=2,
    )
    acc = accumulate(pairs, match(pairs))
    assert np.allclose(acc.precision[0, :51, 0, 0, 2], 0.5)


def test_category_without_gt_is_excluded_not_zero():
    pairs = make_pairs(
        [
            {"cat": 0, "video": 0, "scores": [0.9], "iou": [[1.0]]},
            {"cat": 1, "video": 0, "scores": [0.9], "iou": np.zeros((1, 0))},
        ],
        n_cats=2,
    )
    acc = accumulate(pairs, match(pairs))
    assert (acc.precision[:, :, 1] == -1).all()
    assert abs(summarize(acc)["AP"] - 1.0) < 1e-12


def test_batched_matching_equals_one_batch(monkeypatch):
    import vis_bench.eval.metric.matching as matching_module

    rng = np.random.default_rng(3)
    specs = []
    for v in range(6):
        nd, ng = int(rng.integers(1, 6)), int(rng.integers(1, 5))
        iou = np.round(rng.random((nd, ng)), 1)  # many exact ties
        specs.append(
            {
                "cat": 0,
                "video": v,
                "scores": sorted(rng.random(nd))[::-1],
                "iou": iou,
                "crowd": list(rng.random(ng) < 0.2),
            }
        )
    pairs = make_pairs(specs, n_videos=6)
    whole = match(pairs)
    monkeypatch.setattr(matching_module, "_MAX_PADDED", 3)  # one pair per batch
    split = match(pairs)
    np.testing.assert_array_equal(whole.dt_gt, split.dt_gt)
    np.testing.assert_array_equal(whole.dt_ignored, split.dt_ignored)
