"""A loaded GT/results pair restricted to some of its videos, for scoring part of a split
(`restrict_to_videos`), or to some of its categories, for scoring a model on the part of the
vocabulary it can name (`restrict_to_categories`), and a results set restricted to some of its
results (`select_results`).

Restricting the *loaded* objects and running the ordinary `evaluate_loaded` on them is the same as
scoring GT and results files filtered to those videos: the evaluation universe becomes those
videos (categories stay listed, so a category without GT in the subset is undefined, as the
official evaluator has it), and each track keeps its masks, areas and file order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np

from vis_bench.eval.metric.listed_masks import ListedMasks
from vis_bench.eval.metric.loading import GroundTruth, Results

_Loaded = TypeVar("_Loaded", GroundTruth, Results)
# fields listed per category (never per track or per video, whatever their length or keys)
_PER_CATEGORY = ("cat_ids", "cat_names")


def _restricted(obj: _Loaded, keep: np.ndarray, videos: set[int], universe: set[int]) -> _Loaded:
    """Index every per-track field (array or list as long as the track list) with `keep`, and
    filter every dict keyed by exactly the GT's video ids. Generic over the fields, so fields
    added to the loaders later are carried along without a change here."""
    n = len(keep)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name == "video_ids":
            changes[f.name] = [v for v in value if v in videos]
        elif f.name in _PER_CATEGORY:
            continue
        elif isinstance(value, ListedMasks):  # per-track positions of the GT's parsed masks
            changes[f.name] = value.restricted(keep)
        elif isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == n:
            changes[f.name] = value[keep]
        elif isinstance(value, list) and len(value) == n:
            changes[f.name] = [item for item, k in zip(value, keep, strict=True) if k]
        elif isinstance(value, dict) and set(value) == universe:  # keyed by video id
            changes[f.name] = {k: v for k, v in value.items() if k in videos}
    return dataclasses.replace(obj, **changes)


def restrict_to_videos(
    gt: GroundTruth, res: Results, video_ids: Iterable[int]
) -> tuple[GroundTruth, Results]:
    """GT and results of the given videos only (ids unknown to the GT are ignored)."""
    videos = {int(v) for v in video_ids} & set(gt.video_ids)
    chosen = np.array(sorted(videos), dtype=np.int64)
    gt_keep = np.isin(gt.video_of, chosen)
    res_keep = np.isin(res.video_of, chosen)
    universe = set(gt.video_ids)
    return (
        _restricted(gt, gt_keep, videos, universe),
        _restricted(res, res_keep, videos, universe),
    )


def restrict_ground_truth(gt: GroundTruth, video_ids: Iterable[int]) -> GroundTruth:
    """The GT of the given videos only (ids unknown to the GT are ignored); its categories stay
    listed, as the official evaluator keeps the file's whole category list."""
    videos = {int(v) for v in video_ids} & set(gt.video_ids)
    keep = np.isin(gt.video_of, np.array(sorted(videos), dtype=np.int64))
    return _restricted(gt, keep, videos, set(gt.video_ids))


def restrict_to_categories(
    gt: GroundTruth, res: Results, cat_ids: Iterable[int]
) -> tuple[GroundTruth, Results]:
    """GT and results of the given categories only, which become the categories listed (ids the
    GT does not list are ignored): scored, it is the metric over those categories alone, as if
    the files held no other."""
    chosen = sorted({int(c) for c in cat_ids} & set(gt.cat_ids))
    wanted = np.array(chosen, dtype=np.int64)
    videos = set(gt.video_ids)
    narrowed_gt = _restricted(gt, np.isin(gt.category_of, wanted), videos, videos)
    narrowed_gt = dataclasses.replace(
        narrowed_gt,
        cat_ids=chosen,
        cat_names={c: n for c, n in gt.cat_names.items() if c in wanted},
        cat_partition={c: p for c, p in gt.cat_partition.items() if c in wanted},
    )
    return narrowed_gt, _restricted(res, np.isin(res.category_of, wanted), videos, videos)


def select_results(res: Results, indices: Iterable[int]) -> Results:
    """The results at `indices` (positions in `res`), in that order: e.g. those shown above a
    score threshold. Every per-result field is carried along."""
    order = np.asarray(list(indices), dtype=np.int64)
    n = len(res.frames)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(res):
        value = getattr(res, f.name)
        if isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == n:
            changes[f.name] = value[order]
        elif isinstance(value, list) and len(value) == n and f.name != "occ_problems":
            changes[f.name] = [value[i] for i in order.tolist()]
    return dataclasses.replace(res, **changes)
