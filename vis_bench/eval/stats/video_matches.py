"""The per-video outcome of the metric's matching, kept apart so AP can be re-accumulated.

The YouTube-VIS metric matches results to GT tracks inside each (video, category) pair, so the
match of a result never depends on other videos. AP, AP50, AP75 (area "all", 100 results) and
AR10 of any multiset of videos (a bootstrap resample, one video, a subset) therefore follow from
what matching decided once: per result its category, video, rank, score and whether it counts as
a true or a false positive at each IoU threshold (results matched to a crowd track count as
neither), plus the number of non-crowd GT tracks per (category, video). `VideoMatches` holds
exactly that, in plain arrays that also serialise to JSON (for records and baselines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vis_bench.errors import InputError
from vis_bench.eval.metric.iou import PairTable
from vis_bench.eval.metric.matching import Matches
from vis_bench.eval.metric.params import AREA_LABELS, IOU_THRESHOLDS

FORMAT = "vis-bench-video-matches"
_ALL = AREA_LABELS.index("all")


@dataclass
class VideoMatches:
    """Results in the PairTable's flat order: (category, video, rank)."""

    video_ids: np.ndarray  # int64 [V] ascending: the evaluation universe
    cat_ids: np.ndarray  # int64 [K] ascending
    category: np.ndarray  # int64 [D] index into cat_ids
    video: np.ndarray  # int64 [D] index into video_ids
    rank: np.ndarray  # int64 [D] position in score order inside its (video, category)
    score: np.ndarray  # float64 [D]
    tp: np.ndarray  # bool [T, D] a counted true positive at IoU threshold t
    fp: np.ndarray  # bool [T, D] a counted false positive at IoU threshold t
    gt_count: np.ndarray  # int64 [K, V] non-ignored (non-crowd) GT tracks

    @property
    def n_videos(self) -> int:
        return len(self.video_ids)

    @classmethod
    def from_pairs(cls, pairs: PairTable, matches: Matches) -> VideoMatches:
        """Extract the area-"all" outcome of an evaluation (`EvalResult.pairs/.matches`)."""
        counted = ~matches.dt_ignored[_ALL]
        tp = matches.dt_matched[_ALL] & counted
        fp = ~matches.dt_matched[_ALL] & counted
        gt_cat = np.repeat(pairs.pair_cat, pairs.gt_count)
        gt_video = np.repeat(pairs.pair_video, pairs.gt_count)
        kept = ~matches.gt_ignored[_ALL]
        n_cat, n_vid = len(pairs.cat_ids), len(pairs.video_ids)
        gt_count = np.zeros((n_cat, n_vid), dtype=np.int64)
        np.add.at(gt_count, (gt_cat[kept], gt_video[kept]), 1)
        return cls(
            video_ids=np.asarray(pairs.video_ids, dtype=np.int64),
            cat_ids=np.asarray(pairs.cat_ids, dtype=np.int64),
            category=np.repeat(pairs.pair_cat, pairs.dt_count).astype(np.int64),
            video=np.repeat(pairs.pair_video, pairs.dt_count).astype(np.int64),
            rank=np.asarray(pairs.dt_rank, dtype=np.int64),
            score=np.asarray(pairs.dt_score, dtype=np.float64),
            tp=tp,
            fp=fp,
            gt_count=gt_count,
        )

    def same_ground_truth(self, other: VideoMatches) -> bool:
        """True when both come from the same videos, categories and GT tracks."""
        return (
            np.array_equal(self.video_ids, other.video_ids)
            and np.array_equal(self.cat_ids, other.cat_ids)
            and np.array_equal(self.gt_count, other.gt_count)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: threshold flags packed as integers (bit t = threshold t)."""
        bits = 1 << np.arange(len(IOU_THRESHOLDS), dtype=np.int64)
        k, v = np.nonzero(self.gt_count)
        return {
            "format": FORMAT,
            "version": 1,
            "video_ids": self.video_ids.tolist(),
            "cat_ids": self.cat_ids.tolist(),
            "category": self.category.tolist(),
            "video": self.video.tolist(),
            "rank": self.rank.tolist(),
            "score": self.score.tolist(),
            "tp": (bits[:, None] * self.tp).sum(axis=0).tolist(),
            "fp": (bits[:, None] * self.fp).sum(axis=0).tolist(),
            "gt_count": [
                [int(a), int(b), int(self.gt_count[a, b])] for a, b in zip(k, v, strict=True)
            ],
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "<video matches>") -> VideoMatches:
        """Inverse of `to_dict`; malformed data is an InputError naming `path`."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f'expected an object with "format": "{FORMAT}"', path=path)
        try:
            video_ids = np.array(data["video_ids"], dtype=np.int64)
            cat_ids = np.array(data["cat_ids"], dtype=np.int64)
            bits = 1 << np.arange(len(IOU_THRESHOLDS), dtype=np.int64)
            tp_packed = np.array(data["tp"], dtype=np.int64)
            fp_packed = np.array(data["fp"], dtype=np.int64)
            gt_count = np.zeros((len(cat_ids), len(video_ids)), dtype=np.int64)
            for k, v, n in data["gt_count"]:
                gt_count[k, v] = n
            out = cls(
                video_ids=video_ids,
                cat_ids=cat_ids,
                category=np.array(data["category"], dtype=np.int64),
                video=np.array(data["video"], dtype=np.int64),
                rank=np.array(data["rank"], dtype=np.int64),
                score=np.array(data["score"], dtype=np.float64),
                tp=(tp_packed[None, :] & bits[:, None]) > 0,
                fp=(fp_packed[None, :] & bits[:, None]) > 0,
                gt_count=gt_count,
            )
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise InputError(f"malformed video matches ({err})", path=path) from None
        n = len(out.category)
        if not all(len(a) == n for a in (out.video, out.rank, out.score, tp_packed, fp_packed)):
            raise InputError("video matches: result arrays differ in length", path=path)
        return out
