"""Evaluate phase, part 1: video IoU of every (result, GT) pair of the same video and category.

Video IoU = sum over frames of intersections / sum of unions, both exact integers. The official
code merges each pair frame by frame from Python (four pycocotools calls per pair and frame).
Here all work is batched in C and each mask string is parsed at most twice:

* areas: one pass of pycocotools `area` over every mask (chunks of 255);
* intersections: one pycocotools `iou` call per video over all its masks; GT columns are flagged
  crowd, so an entry is |d ∩ g| / |d|, and |d ∩ g| = rint(o * |d|) is exact (integers below 2^31
  recovered from one correctly rounded double). A fake width per (frame, size) group stops the C
  code from merging masks of different frames (see `video_overlaps`).

Unions follow per pair as sum |d| + sum |g| - I over the frames both lists have (Python `zip`
truncation), minus the frames where both masks exist with different sizes: the official RLE merge
turns those into empty 0x0 masks, so the frame vanishes from I and U.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils

from vis_bench.eval.loading import GroundTruth, Results
from vis_bench.eval.params import MAX_DETS
from vis_bench.eval.rle import track_areas


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


# Fake widths keep masks of different (frame, size) groups apart inside one pycocotools call.
_WIDTH_STRIDE = 1 << 20
# Largest IoU matrix (results x GT masks) one pycocotools call may return: 4M doubles, 32 MB.
_MAX_ENTRIES = 4_000_000


def _area_table(areas: list[np.ndarray], n_frames: int) -> np.ndarray:
    table = np.zeros((len(areas), n_frames))
    for i, a in enumerate(areas):
        table[i, : len(a)] = a
    return table


def video_overlaps(
    d_tracks: list[list[dict | None]],
    g_tracks: list[list[dict | None]],
    d_areas: list[np.ndarray],
    g_areas: list[np.ndarray],
    d_labels: list[int] | None = None,
    g_labels: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact integer intersections and unions [nd, ng] of all (d, g) pairs of one video.

    All frames go into a single pycocotools `iou` call. Each mask gets a fake width that is
    unique to its (frame, height, width, label) group, so the C code, which only merges masks of
    equal size, merges exactly the pairs of the same frame, size and label (category) and skips
    the rest after a cheap check; run lengths are unaffected because only the stated width
    changes. GT columns are flagged crowd, so an entry is |d ∩ g| / |d| and
    |d ∩ g| = rint(o * |d|) exactly. Pairs with different labels get I = 0 (callers only read
    same-category pairs); their unions are still correct.
    """
    d_labels = d_labels if d_labels is not None else [0] * len(d_tracks)
    g_labels = g_labels if g_labels is not None else [0] * len(g_tracks)
    nd, ng = len(d_tracks), len(g_tracks)
    len_d = np.array([len(f) for f in d_tracks], dtype=np.int64)
    len_g = np.array([len(f) for f in g_tracks], dtype=np.int64)
    n_frames = int(max(len_d.max(initial=0), len_g.max(initial=0)))
    area_d = _area_table(d_areas, n_frames)
    area_g = _area_table(g_areas, n_frames)

    groups: dict[tuple[int, int, int, int], int] = {}
    g_size_at: list[tuple[int, int] | None] = [None] * n_frames
    mixed = [False] * n_frames
    g_track, g_frame, g_group, g_masks = [], [], [], []
    for j, (frames, label) in enumerate(zip(g_tracks, g_labels, strict=True)):
        for t, seg in enumerate(frames):
            if seg is None:
                continue
            h, w = seg["size"]
            gid = groups.setdefault((t, h, w, label), len(groups))
            if g_size_at[t] is None:
                g_size_at[t] = (h, w)
            elif g_size_at[t] != (h, w):
                mixed[t] = True
            g_track.append(j)
            g_frame.append(t)
            g_group.append(gid)
            g_masks.append({"size": [h, w + (gid + 1) * _WIDTH_STRIDE], "counts": seg["counts"]})
    d_track, d_frame, d_group, d_masks = [], [], [], []
    for i, (frames, label) in enumerate(zip(d_tracks, d_labels, strict=True)):
        for t, seg in enumerate(frames[:n_frames]):
            if seg is None or g_size_at[t] is None:
                continue
            h, w = seg["size"]
            gid = groups.get((t, h, w, label))
            if g_size_at[t] != (h, w):
                mixed[t] = True
            if gid is None:
                continue
            d_track.append(i)
            d_frame.append(t)
            d_group.append(gid)
            d_masks.append({"size": [h, w + (gid + 1) * _WIDTH_STRIDE], "counts": seg["counts"]})

    inter = np.zeros(nd * ng)
    if d_masks:
        d_cols = np.array([d_track, d_frame, d_group]).reshape(3, -1)
        g_cols = np.array([g_track, g_frame, g_group]).reshape(3, -1)
        for d_sel, g_sel in _frame_chunks(d_cols[1], g_cols[1], n_frames):
            dm = d_masks if d_sel is None else [d_masks[k] for k in d_sel]
            gm = g_masks if g_sel is None else [g_masks[k] for k in g_sel]
            dc = d_cols if d_sel is None else d_cols[:, d_sel]
            gc = g_cols if g_sel is None else g_cols[:, g_sel]
            o = np.asarray(mask_utils.iou(dm, gm, [1] * len(gm)), dtype=np.float64)
            r, c = np.nonzero(dc[2][:, None] == gc[2][None, :])  # same frame and size
            vals = np.rint(o.reshape(len(dm), len(gm))[r, c] * area_d[dc[0][r], dc[1][r]])
            inter += np.bincount(dc[0][r] * ng + gc[0][c], weights=vals, minlength=nd * ng)
    inter = inter.reshape(nd, ng)

    vanished = np.zeros((nd, ng))
    if any(mixed):
        _vanished_pairs(d_tracks, g_tracks, mixed, area_d, area_g, vanished)

    cum_d = np.concatenate([np.zeros((nd, 1)), np.cumsum(area_d, axis=1)], axis=1)
    cum_g = np.concatenate([np.zeros((ng, 1)), np.cumsum(area_g, axis=1)], axis=1)
    common = np.minimum(len_d[:, None], len_g[None, :])  # zip stops at the shorter list
    union = (
        np.take_along_axis(cum_d, common, axis=1)
        + np.take_along_axis(cum_g, common.T, axis=1).T
        - inter
        - vanished
    )
    return inter, union


def _frame_chunks(d_frame: np.ndarray, g_frame: np.ndarray, n_frames: int):
    """Split a video's masks into runs of frames whose IoU matrix stays below _MAX_ENTRIES.

    Yields (d indices, g indices), or (None, None) when everything fits in one call.
    """
    n_d = np.bincount(d_frame, minlength=n_frames)
    n_g = np.bincount(g_frame, minlength=n_frames)
    if len(d_frame) * len(g_frame) <= _MAX_ENTRIES:
        yield None, None
        return
    start, acc_d, acc_g = 0, 0, 0
    for t in range(n_frames + 1):
        if t == n_frames or (t > start and (acc_d + n_d[t]) * (acc_g + n_g[t]) > _MAX_ENTRIES):
            d_sel = np.flatnonzero((d_frame >= start) & (d_frame < t))
            g_sel = np.flatnonzero((g_frame >= start) & (g_frame < t))
            if len(d_sel) and len(g_sel):
                yield d_sel, g_sel
            start, acc_d, acc_g = t, 0, 0
        if t < n_frames:
            acc_d += n_d[t]
            acc_g += n_g[t]


def _vanished_pairs(d_tracks, g_tracks, mixed, area_d, area_g, vanished) -> None:
    """Frames where masks of different sizes meet (malformed input): the official RLE merge of
    such a pair is an empty 0x0 mask, so the frame adds nothing to that pair's I or U."""
    for t, is_mixed in enumerate(mixed):
        if not is_mixed:
            continue
        ds = [(i, tuple(f[t]["size"])) for i, f in enumerate(d_tracks) if t < len(f) and f[t]]
        gs = [(j, tuple(f[t]["size"])) for j, f in enumerate(g_tracks) if t < len(f) and f[t]]
        for i, size_d in ds:
            for j, size_g in gs:
                if size_d != size_g:
                    vanished[i, j] += area_d[i, t] + area_g[j, t]


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


def _mean_nonzero(areas: list[np.ndarray]) -> np.ndarray:
    """Per track, the mean of its non-zero frame areas, 0 if none (official avg_area)."""
    owner = np.repeat(np.arange(len(areas)), [len(a) for a in areas])
    flat = np.concatenate(areas) if areas else np.zeros(0)
    total = np.bincount(owner, weights=flat, minlength=len(areas))
    count = np.bincount(owner, weights=(flat > 0).astype(np.float64), minlength=len(areas))
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def _by_video(members: np.ndarray, video_of: np.ndarray, n_videos: int):
    """Members sorted stably by video, and the bounds of each video's slice."""
    members = members[np.argsort(video_of[members], kind="stable")]
    return members, np.searchsorted(video_of[members], np.arange(n_videos + 1))


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

    pair_key = np.union1d(dt_key, gt_key).astype(np.int64)
    pair_cat = pair_key // max(n_videos, 1)
    pair_video = pair_key % max(n_videos, 1)
    dt_start = np.searchsorted(dt_key, pair_key, side="left")
    dt_count = np.searchsorted(dt_key, pair_key, side="right") - dt_start
    gt_start = np.searchsorted(gt_key, pair_key, side="left")
    gt_count = np.searchsorted(gt_key, pair_key, side="right") - gt_start
    sizes = dt_count * gt_count
    iou_start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    iou = np.zeros(int(sizes.sum()))
    zero_union: list[tuple[int, int]] = []

    d_areas = track_areas([res.frames[r] for r in dt_result])

    # Only pairs with both results and GT need overlaps; handle them video by video.
    both = (dt_count > 0) & (gt_count > 0)
    pair_of_dt = np.repeat(np.arange(len(pair_key)), dt_count)
    pair_of_gt = np.repeat(np.arange(len(pair_key)), gt_count)
    d_sel, d_bounds = _by_video(np.flatnonzero(both[pair_of_dt]), pair_video[pair_of_dt], n_videos)
    g_sel, g_bounds = _by_video(np.flatnonzero(both[pair_of_gt]), pair_video[pair_of_gt], n_videos)
    p_sel, p_bounds = _by_video(np.flatnonzero(both), pair_video, n_videos)
    local_d = np.zeros(len(dt_result), dtype=np.int64)
    local_g = np.zeros(len(gt_tracks), dtype=np.int64)
    for v in range(n_videos):
        d_flat = d_sel[d_bounds[v] : d_bounds[v + 1]]
        if len(d_flat) == 0:
            continue
        g_flat = g_sel[g_bounds[v] : g_bounds[v + 1]]
        local_d[d_flat] = np.arange(len(d_flat))
        local_g[g_flat] = np.arange(len(g_flat))
        inter, union = video_overlaps(
            [res.frames[r] for r in dt_result[d_flat]],
            [gt.frames[g] for g in gt_tracks[g_flat]],
            [d_areas[i] for i in d_flat],
            [gt.frame_areas[g] for g in gt_tracks[g_flat]],
            pair_of_dt[d_flat].tolist(),
            pair_of_gt[g_flat].tolist(),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(union > 0, inter / union, 0.0)
        # Each pair's results and GT are contiguous inside the video's local order.
        for p in p_sel[p_bounds[v] : p_bounds[v + 1]]:
            nd, ng = int(dt_count[p]), int(gt_count[p])
            rows = slice(local_d[dt_start[p]], local_d[dt_start[p]] + nd)
            cols = slice(local_g[gt_start[p]], local_g[gt_start[p]] + ng)
            iou[iou_start[p] : iou_start[p] + nd * ng] = ratio[rows, cols].ravel()
            n_zero = int((union[rows, cols] <= 0).sum())
            zero_union.extend([(int(video_ids[v]), int(cat_ids[pair_cat[p]]))] * n_zero)

    return PairTable(
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
        dt_area=_mean_nonzero(d_areas),
        dt_rank=dt_rank,
        gt_track=gt_tracks,
        gt_id=gt.ann_ids[gt_tracks],
        gt_crowd=gt.crowd[gt_tracks],
        gt_area=gt.avg_area[gt_tracks],
        iou=iou,
        zero_union=zero_union,
    )
