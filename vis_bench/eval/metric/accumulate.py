"""Accumulate phase: precision/recall arrays per threshold, category, setting and maxDets.

A setting is an area range (YouTube-VIS) or an (area, occlusion) range pair (OVIS): whatever
rows the Matches hold.

Same arithmetic as COCO `accumulate`: results of a category are gathered in (video id, score rank)
order, cut to the first M per (video, category), stably sorted by descending score, and turned
into cumulative TP/FP counts. Entries stay -1 where the category has no non-ignored GT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vis_bench.eval.metric.iou import PairTable
from vis_bench.eval.metric.matching import Matches
from vis_bench.eval.metric.params import IOU_THRESHOLDS, MAX_DETS, RECALL_THRESHOLDS


@dataclass
class Accumulated:
    """precision [T, R, K, S, M] and recall [T, K, S, M]; -1 where undefined (S: settings,
    the A = 4 area ranges for YouTube-VIS)."""

    precision: np.ndarray
    recall: np.ndarray
    cat_ids: np.ndarray


def _recall_positions(tp: np.ndarray, npig: int | np.ndarray) -> np.ndarray:
    """Per row, the left insertion index of each recall threshold in recall = tp / npig.

    Recall k / npig is below threshold r exactly when the count k is below the first count
    whose recall reaches r, so all rows are searched at once on exact integers (rows kept
    apart by an offset) instead of row by row on floats. `npig`: one count, or one per row.
    """
    n_rows, nd = tp.shape
    npig = np.broadcast_to(np.asarray(npig, dtype=np.int64), (n_rows,))
    first_reaching = np.empty((n_rows, len(RECALL_THRESHOLDS)), dtype=np.int64)
    for count in np.unique(npig):
        reach = np.searchsorted(np.arange(count + 1) / count, RECALL_THRESHOLDS, side="left")
        first_reaching[npig == count] = reach
    span = int(npig.max()) + nd + 2
    offset = np.arange(n_rows)[:, None] * span
    found = np.searchsorted((tp + offset).ravel(), (first_reaching + offset).ravel(), "left")
    return found.reshape(n_rows, -1) - np.arange(n_rows)[:, None] * nd


def _interpolated_precision(tp: np.ndarray, fp: np.ndarray, npig: int | np.ndarray) -> tuple:
    """Recall at the end and precision at the 101 recall points, per row (`npig`: the
    non-ignored GT count, one or one per row)."""
    n_rows, nd = tp.shape
    if nd == 0:
        return np.zeros(n_rows), np.zeros((n_rows, len(RECALL_THRESHOLDS)))
    rc = tp / np.asarray(npig, dtype=np.float64).reshape(-1, 1)
    pr = tp / (fp + tp + np.spacing(1))
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]  # non-increasing from the right
    inds = _recall_positions(tp, npig)
    rows = np.arange(n_rows)[:, None]
    q = np.where(inds < nd, pr[rows, np.minimum(inds, nd - 1)], 0.0)
    return rc[:, -1], q


def accumulate(pairs: PairTable, matches: Matches) -> Accumulated:
    """Build the precision and recall arrays from the per-result match flags."""
    n_thr, n_rec = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS)
    n_cat, n_areas, n_max = len(pairs.cat_ids), matches.gt_ignored.shape[0], len(MAX_DETS)
    precision = -np.ones((n_thr, n_rec, n_cat, n_areas, n_max))
    recall = -np.ones((n_thr, n_cat, n_areas, n_max))

    dt_cat = np.repeat(pairs.pair_cat, pairs.dt_count)
    gt_cat = np.repeat(pairs.pair_cat, pairs.gt_count)
    # Flat results are in (category, video, rank) order; a stable sort by (category, -score)
    # keeps video-id order, then rank, among equal scores: the official tie order.
    order = np.lexsort((-pairs.dt_score, dt_cat))
    bounds = np.searchsorted(dt_cat[order], np.arange(n_cat + 1))
    npig = np.stack(
        [np.bincount(gt_cat[~matches.gt_ignored[a]], minlength=n_cat) for a in range(n_areas)]
    )  # [A, K]
    counted = ~matches.dt_ignored
    tps_all = matches.dt_matched & counted  # [A, T, D]
    fps_all = ~matches.dt_matched & counted

    for k in range(n_cat):
        if not npig[:, k].any():
            continue
        in_cat = order[bounds[k] : bounds[k + 1]]
        areas = np.flatnonzero(npig[:, k])
        # every (setting, threshold) row of the category at once: the same sums per row
        row_npig = np.repeat(npig[areas, k], n_thr)
        for m, max_det in enumerate(MAX_DETS):
            sel = in_cat[pairs.dt_rank[in_cat] < max_det]
            tp = np.cumsum(tps_all[:, :, sel][areas], axis=2).astype(np.float64)
            fp = np.cumsum(fps_all[:, :, sel][areas], axis=2).astype(np.float64)
            rc_last, q = _interpolated_precision(
                tp.reshape(len(row_npig), len(sel)), fp.reshape(len(row_npig), len(sel)), row_npig
            )
            recall[:, k, areas, m] = rc_last.reshape(len(areas), n_thr).T
            precision[:, :, k, areas, m] = q.reshape(len(areas), n_thr, n_rec).transpose(1, 2, 0)
    return Accumulated(precision=precision, recall=recall, cat_ids=pairs.cat_ids)
