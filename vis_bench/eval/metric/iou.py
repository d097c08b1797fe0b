"""Evaluate phase, part 1: video IoU of every (result, GT) pair of the same video and category.

Video IoU = sum over frames of intersections / sum of unions, both exact integers (see
overlaps.py for how they are computed in bulk). Results are selected, ordered and cut per
(video, category) here, and the IoUs laid out per pair for matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vis_bench.eval.metric.loading import GroundTruth, Results
from vis_bench.eval.metric.overlaps import FrameTable, frame_table, track_overlaps
from vis_bench.eval.metric.params import MAX_DETS
from vis_bench.eval.metric.unique import unique_sorted
from vis_bench.eval.rle.areas import track_areas


@dataclass
class PairTable:
    """Everything matching needs, as flat arrays; pairs sorted by (category, video).

    Pair p owns results `dt_start[p] : dt_start[p] + dt_count[p]` (score order, at most 100),
    GT tracks `gt_start[p] : ...` (file order) and the row-major IoU block
    `iou[iou_start[p] : iou_start[p] + dt_count[p] * gt_count[p]]`.
    """

    cat_ids: np.ndarray  # int64 [K] evaluated categories (ascending)
    video_ids: np.ndarray  # int64 [V] evaluated videos (ascending)
    pair_cat: np.ndarray  # int64 [P] index into cat_ids
    pair_video: np.ndarray  # int64 [P] index into video_ids
    dt_start: np.ndarray
    dt_count: np.ndarray
    gt_start: np.ndarray
    gt_count: np.ndarray
    iou_start: np.ndarray
    dt_result: np.ndarray  # int64 [D] 0-based position in the results file
    dt_score: np.ndarray  # float64 [D]
    dt_area: np.ndarray  # float64 [D] mean of the non-zero per-frame areas
    dt_rank: np.ndarray  # int64 [D] position in score order inside its pair
    gt_track: np.ndarray  # int64 [G] index into GroundTruth tracks
    gt_id: np.ndarray  # int64 [G] annotation id
    gt_crowd: np.ndarray  # bool [G]
    gt_area: np.ndarray  # float64 [G]
    iou: np.ndarray  # float64 flat blocks
    zero_union: list[tuple[int, int]] = field(default_factory=list)  # (video id, category id)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_cat)

    def iou_matrix(self, p: int) -> np.ndarray:
        """IoU block of pair p: rows = results in score order, columns = GT in file order."""
        start = self.iou_start[p]
        nd, ng = int(self.dt_count[p]), int(self.gt_count[p])
        return self.iou[start : start + nd * ng].reshape(nd, ng)

    def ious_by_key(self) -> dict[str, dict[str, list]]:
        """`"video:category"` -> gt_ids, dt_ids (1-based result ids), iou rows (golden layout)."""
        out = {}
        for p in range(self.n_pairs):
            d0, g0 = self.dt_start[p], self.gt_start[p]
            key = f"{self.video_ids[self.pair_video[p]]}:{self.cat_ids[self.pair_cat[p]]}"
            out[key] = {
                "gt_ids": self.gt_id[g0 : g0 + self.gt_count[p]].tolist(),
                "dt_ids": (self.dt_result[d0 : d0 + self.dt_count[p]] + 1).tolist(),
                "iou": self.iou_matrix(p).tolist(),
            }
        return out


def video_overlaps(
    d_tracks: list[list[dict | None]],
    g_tracks: list[list[dict | None]],
    d_areas: list[np.ndarray],
    g_areas: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Exact integer intersections and unions [nd, ng] of all (d, g) pairs of one video."""
    nd, ng = len(d_tracks), len(g_tracks)
    d, g = frame_table(d_tracks), frame_table(g_tracks)
    d.area = _present_areas(d_areas, d)
    g.area = _present_areas(g_areas, g)
    zeros_d, zeros_g = np.zeros(nd, dtype=np.int64), np.zeros(ng, dtype=np.int64)
    pairs_d, pairs_g = np.repeat(np.arange(nd), ng), np.tile(np.arange(ng), nd)
    inter, union = track_overlaps(d, g, zeros_d, zeros_g, zeros_d, pairs_d, pairs_g)
    return inter.reshape(nd, ng), union.reshape(nd, ng)


def video_ious(
    d_tracks: list[list[dict | None]], gt: GroundTruth, tracks: Sequence[int]
) -> np.ndarray:
    """Video IoU [d, GT track] of predicted tracks (per-frame RLEs) against the GT tracks
    `tracks` of one video, exact as the metric computes it (0 where the union is empty)."""
    inter, union = video_overlaps(
        d_tracks,
        [gt.frames[k] for k in tracks],
        track_areas(d_tracks),
        [gt.frame_areas[k] for k in tracks],
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _present_areas(areas: list[np.ndarray], frames: FrameTable) -> np.ndarray:
    """Per-track area arrays (0 where absent) -> the areas of the table's present frames."""
    if not len(frames.track):
        return np.zeros(0)
    offsets = np.cumsum(frames.lengths) - frames.lengths
    return np.concatenate(areas)[offsets[frames.track] + frames.frame]


def _select_results(res: Results, cat_ids: np.ndarray, video_ids: np.ndarray):
    """Known categories only, ordered (category, video, -score) stably, top 100 per pair.

    Returns result indices, their (category, video) keys and their rank inside the pair.
    """
    keep = np.flatnonzero(np.isin(res.category_of, cat_ids))
    r_cat = np.searchsorted(cat_ids, res.category_of[keep])
    r_vid = np.searchsorted(video_ids, res.video_of[keep])
    order = np.lexsort((-res.score[keep], r_vid, r_cat))
    key = (r_cat * len(video_ids) + r_vid)[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else key
    rank = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    cut = rank < MAX_DETS[-1]
    return keep[order][cut], key[cut], rank[cut]


def _mean_nonzero(frames: FrameTable) -> np.ndarray:
    """Per track, the mean of its non-zero frame areas, 0 if none (official avg_area)."""
    n = len(frames.lengths)
    total = np.bincount(frames.track, weights=frames.area, minlength=n)
    count = np.bincount(frames.track, weights=(frames.area > 0).astype(np.float64), minlength=n)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def _fill_ious(pairs: PairTable, gt: GroundTruth, d: FrameTable) -> None:
    """IoU blocks of all pairs with both results and GT (d: the selected results' frames),
    and the zero-union warnings, per entry, ordered by video then pair like the official
    prints."""
    dt_count, gt_count = pairs.dt_count, pairs.gt_count
    both = np.flatnonzero((dt_count > 0) & (gt_count > 0))
    sizes = dt_count[both] * gt_count[both]
    pair = np.repeat(both, sizes)
    local = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    rows = pairs.dt_start[pair] + local // gt_count[pair]  # flat result index
    cols = pairs.gt_start[pair] + local % gt_count[pair]  # flat GT index
    # Labels in (video, category) order: one pycocotools call per video covers a contiguous
    # range of them. Only GT tracks of those pairs take part (renumbered 0..).
    label = pairs.pair_video * len(pairs.cat_ids) + pairs.pair_cat
    dt_pair = np.repeat(np.arange(pairs.n_pairs), dt_count)
    g_used, g_local = np.unique(cols, return_inverse=True)
    gt_pair = np.repeat(np.arange(pairs.n_pairs), gt_count)[g_used]
    gt_tracks = pairs.gt_track[g_used].tolist()
    g = frame_table([gt.frames[i] for i in gt_tracks])
    g.area = _present_areas([gt.frame_areas[i] for i in gt_tracks], g)
    _use_listed_runs(gt, pairs.gt_track[g_used], g)
    inter, union = track_overlaps(
        d, g, label[dt_pair], label[gt_pair], pairs.pair_video[dt_pair], rows, g_local.ravel()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pairs.iou[pairs.iou_start[pair] + local] = np.where(union > 0, inter / union, 0.0)
    zero = pair[union <= 0]
    zero = zero[np.argsort(pairs.pair_video[zero], kind="stable")]
    pairs.zero_union = [
        (int(pairs.video_ids[v]), int(pairs.cat_ids[c]))
        for v, c in zip(pairs.pair_video[zero], pairs.pair_cat[zero], strict=True)
    ]


def _use_listed_runs(gt: GroundTruth, tracks: np.ndarray, g: FrameTable) -> None:
    """Let `g` (the frames of GT `tracks`) read the runs the GT reader kept for its count
    lists, when every frame was one and each list covers its frame exactly (as the decoder
    would have checked); else `g` decodes its strings as usual."""
    if gt.listed is None:
        return
    lists = gt.listed.frames_of(tracks)
    if lists is None or len(lists) != len(g.segs):
        return
    if np.array_equal(gt.listed.pixels[lists], g.height * g.width):
        g.use_predecoded(gt.listed.masks, lists)


def compute_pairs(gt: GroundTruth, res: Results) -> PairTable:
    """Select, order and cut results per (video, category), then compute all their IoUs."""
    cat_ids = np.array(gt.cat_ids, dtype=np.int64)
    video_ids = np.array(gt.video_ids, dtype=np.int64)
    n_videos = len(video_ids)
    dt_result, dt_key, dt_rank = _select_results(res, cat_ids, video_ids)

    # GT: listed videos/categories (the loader dropped the rest); order (category, video) stable.
    g_cat = np.searchsorted(cat_ids, gt.category_of)
    g_vid = np.searchsorted(video_ids, gt.video_of)
    gt_tracks = np.lexsort((g_vid, g_cat))
    gt_key = (g_cat * n_videos + g_vid)[gt_tracks]

    pair_key = unique_sorted(np.concatenate((dt_key, gt_key))).astype(np.int64)
    pair_cat = pair_key // max(n_videos, 1)
    pair_video = pair_key % max(n_videos, 1)
    dt_start = np.searchsorted(dt_key, pair_key, side="left")
    dt_count = np.searchsorted(dt_key, pair_key, side="right") - dt_start
    gt_start = np.searchsorted(gt_key, pair_key, side="left")
    gt_count = np.searchsorted(gt_key, pair_key, side="right") - gt_start
    sizes = dt_count * gt_count
    iou_start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    # The selected results' frames; their areas come from the one pass over every result mask
    # string, made while the intersections are counted (_fill_ious).
    d = frame_table([res.frames[r] for r in dt_result.tolist()], res.strings)
    pairs = PairTable(
        cat_ids=cat_ids,
        video_ids=video_ids,
        pair_cat=pair_cat,
        pair_video=pair_video,
        dt_start=dt_start,
        dt_count=dt_count,
        gt_start=gt_start,
        gt_count=gt_count,
        iou_start=iou_start,
        dt_result=dt_result,
        dt_score=res.score[dt_result],
        dt_area=np.zeros(len(dt_result)),
        dt_rank=dt_rank,
        gt_track=gt_tracks,
        gt_id=gt.ann_ids[gt_tracks],
        gt_crowd=gt.crowd[gt_tracks],
        gt_area=gt.avg_area[gt_tracks],
        iou=np.zeros(int(sizes.sum())),
    )
    _fill_ious(pairs, gt, d)
    pairs.dt_area = _mean_nonzero(d)
    return pairs
