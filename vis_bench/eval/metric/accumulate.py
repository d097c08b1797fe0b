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
from vis_bench.eval.metric.unique import unique_sorted


@dataclass
class Accumulated:
    """precision [T, R, K, S, M] and recall [T, K, S, M]; -1 where undefined (S: settings,
    the A = 4 area ranges for YouTube-VIS)."""

    precision: np.ndarray
    recall: np.ndarray
    cat_ids: np.ndarray


def _first_reaching(npig: np.ndarray) -> np.ndarray:
    """[..., R]: for each non-ignored GT count, the first TP count whose recall reaches each
    recall threshold (what a float search of tp / npig finds); rows of count 0 are never read.
    Once per (setting, category): the counts do not change with maxDets."""
    npig = np.asarray(npig, dtype=np.int64)
    flat = npig.ravel()
    out = np.zeros((len(flat), len(RECALL_THRESHOLDS)), dtype=np.int64)
    for count in unique_sorted(flat[flat > 0]):
        out[flat == count] = np.searchsorted(
            np.arange(count + 1) / count, RECALL_THRESHOLDS, side="left"
        )
    return out.reshape(*npig.shape, len(RECALL_THRESHOLDS))


def _recall_positions(tp: np.ndarray, npig: int | np.ndarray) -> np.ndarray:
    """Per row, the left insertion index of each recall threshold in recall = tp / npig
    (`npig`: one count, or one per row)."""
    npig = np.broadcast_to(np.asarray(npig, dtype=np.int64), (tp.shape[0],))
    return _positions_of(tp, _first_reaching(npig))


def _positions_of(tp: np.ndarray, first_reaching: np.ndarray) -> np.ndarray:
    """`_recall_positions` from the rows' `_first_reaching` counts.

    Recall k / npig is below threshold r exactly when the count k is below the first count
    whose recall reaches r, so all rows are searched at once on exact integers (rows kept
    apart by an offset) instead of row by row on floats.
    """
    n_rows, nd = tp.shape
    span = int(first_reaching.max(initial=0)) + nd + 2
    offset = np.arange(n_rows)[:, None] * span
    found = np.searchsorted((tp + offset).ravel(), (first_reaching + offset).ravel(), "left")
    return found.reshape(n_rows, -1) - np.arange(n_rows)[:, None] * nd


def _interpolated_precision(
    tp: np.ndarray, fp: np.ndarray, npig: np.ndarray, first_reaching: np.ndarray
) -> tuple:
    """Recall at the end and precision at the 101 recall points, per row (`npig`: the
    non-ignored GT count of each row, `first_reaching` its `_first_reaching` counts)."""
    n_rows, nd = tp.shape
    if nd == 0:
        return np.zeros(n_rows), np.zeros((n_rows, len(RECALL_THRESHOLDS)))
    rc = tp / np.asarray(npig, dtype=np.float64).reshape(-1, 1)
    pr = tp / (fp + tp + np.spacing(1))
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]  # non-increasing from the right
    inds = _positions_of(tp, first_reaching)
    rows = np.arange(n_rows)[:, None]
    q = np.where(inds < nd, pr[rows, np.minimum(inds, nd - 1)], 0.0)
    return rc[:, -1], q


def accumulate(
    pairs: PairTable, matches: Matches, categories: np.ndarray | None = None
) -> Accumulated:
    """Build the precision and recall arrays from the per-result match flags.

    `categories`: positions in `pairs.cat_ids` to fill, in that order; the arrays then hold
    those categories only. Any category left out must be one the arrays would leave at -1
    throughout (no GT track), as LV-VIS's 1,196-category grid mostly is.
    """
    n_thr, n_rec = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS)
    n_cat, n_areas, n_max = len(pairs.cat_ids), matches.gt_ignored.shape[0], len(MAX_DETS)
    kept = np.arange(n_cat) if categories is None else np.asarray(categories, dtype=np.int64)
    # filled once (a negated array of ones would be written twice, and held twice at its peak)
    precision = np.full((n_thr, n_rec, len(kept), n_areas, n_max), -1.0)
    recall = np.full((n_thr, len(kept), n_areas, n_max), -1.0)

    dt_cat = np.repeat(pairs.pair_cat, pairs.dt_count)
    gt_cat = np.repeat(pairs.pair_cat, pairs.gt_count)
    # Flat results are in (category, video, rank) order; a stable sort by (category, -score)
    # keeps video-id order, then rank, among equal scores: the official tie order.
    order = np.lexsort((-pairs.dt_score, dt_cat))
    bounds = np.searchsorted(dt_cat[order], np.arange(n_cat + 1))
    npig = np.stack(
        [np.bincount(gt_cat[~matches.gt_ignored[a]], minlength=n_cat) for a in range(n_areas)]
    )  # [A, K]
    reaching = _first_reaching(npig)  # [A, K, R]
    counted = ~matches.dt_ignored
    tps_all = matches.dt_matched & counted  # [A, T, D]
    fps_all = ~matches.dt_matched & counted

    for j, k in enumerate(kept.tolist()):
        if not npig[:, k].any():
            continue
        in_cat = order[bounds[k] : bounds[k + 1]]
        areas = np.flatnonzero(npig[:, k])
        # every (setting, threshold) row of the category at once: the same sums per row
        row_npig = np.repeat(npig[areas, k], n_thr)
        row_reaching = np.repeat(reaching[areas, k], n_thr, axis=0)
        for m, max_det in enumerate(MAX_DETS):
            sel = in_cat[pairs.dt_rank[in_cat] < max_det]
            tp = np.cumsum(tps_all[:, :, sel][areas], axis=2).astype(np.float64)
            fp = np.cumsum(fps_all[:, :, sel][areas], axis=2).astype(np.float64)
            rc_last, q = _interpolated_precision(
                tp.reshape(len(row_npig), len(sel)),
                fp.reshape(len(row_npig), len(sel)),
                row_npig,
                row_reaching,
            )
            recall[:, j, areas, m] = rc_last.reshape(len(areas), n_thr).T
            precision[:, :, j, areas, m] = q.reshape(len(areas), n_thr, n_rec).transpose(1, 2, 0)
    return Accumulated(precision=precision, recall=recall, cat_ids=pairs.cat_ids[kept])
