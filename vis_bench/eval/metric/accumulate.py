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


def _precision_at_recalls(
    hits: np.ndarray, counts: np.ndarray, precision: np.ndarray, first_reaching: np.ndarray
) -> np.ndarray:
    """[..., R]: per row of TP flags `hits` [..., L] (`counts`: their cumulative sums), the
    row's non-increasing `precision` [..., L] at the slot where the TP count first reaches
    each of `first_reaching` (broadcast to [..., R]), or 0 where it never does: what the
    official code finds by searching each recall threshold in the row's recall.

    Recall k / npig is below threshold r exactly when k is below the first count reaching r,
    and a row's count reaches k > 0 at its k-th hit, so each row's precision is tabled once
    per count (slot 0 for count 0, then each hit's slot, 0 past the last), and the R
    thresholds read the table: one gather instead of a search per threshold.
    """
    width = hits.shape[-1]
    rows = int(np.prod(hits.shape[:-1]))
    precision = np.ascontiguousarray(precision).reshape(rows, width)
    table = np.zeros((rows, width + 2))
    table[:, 0] = precision[:, 0]
    at = np.flatnonzero(hits)
    table.ravel()[at // width * (width + 2) + counts.ravel()[at]] = precision.ravel()[at]
    start = np.arange(rows).reshape(*hits.shape[:-1], 1) * (width + 2)
    return table.ravel()[start + np.minimum(first_reaching, width + 1)]


#: most (setting, threshold, category, result slot) cells one batch of categories pads to
_MAX_PADDED = 1_000_000


def _category_batches(lengths: np.ndarray, row_cells: int):
    """Positions into `lengths` (results per category) in batches of similar length, each
    padded to its longest below _MAX_PADDED cells (`row_cells` per result slot)."""
    order = np.argsort(lengths, kind="stable")
    start = 0
    while start < len(order):
        longest = lengths[order[start:]] * row_cells
        fits = int(np.count_nonzero(np.arange(1, len(longest) + 1) * longest <= _MAX_PADDED))
        yield order[start : start + max(1, fits)]
        start += max(1, fits)


def _fill_categories(
    out: tuple[np.ndarray, np.ndarray],
    columns: np.ndarray,
    dets: np.ndarray,
    lengths: np.ndarray,
    flags: tuple[np.ndarray, np.ndarray],
    npig: np.ndarray,
    reaching: np.ndarray,
) -> None:
    """Recall [T, C, S] and precision [T, R, C, S] of C categories (`out`, filled at the
    category positions `columns`) from their results `dets` [C, L] in score order (slots at
    and past `lengths` are padding), the TP and FP flags [S, T, D], and each (setting,
    category)'s non-ignored GT count `npig` [S, C] and `_first_reaching` counts [S, C, R].

    The official arithmetic per row, all rows at once: cumulative TP/FP counts (the padding
    repeats a row's last count), recall and precision by the same divisions, precision made
    non-increasing from the right (padding at 0 changes no maximum: precision is >= 0), and
    the precision where each recall threshold is first reached (0 past a row's results).
    """
    recall_out, precision_out = out
    n_set, n_thr = flags[0].shape[:2]
    n_cat, width = dets.shape
    written = npig > 0  # [S, C]: a setting without GT stays -1
    if width == 0:  # no category of the batch has a result: recall 0, precision 0
        recall_out[:, columns] = np.where(written, 0.0, -1.0).T
        precision_out[:, :, columns] = np.where(written, 0.0, -1.0).T
        return
    padded = np.arange(width)[None, :] < lengths[:, None]  # [C, L]
    tp_hits = flags[0][:, :, dets] & padded  # [S, T, C, L]
    tp_counts = np.cumsum(tp_hits, axis=3)
    tp = tp_counts.astype(np.float64)
    fp = np.cumsum(flags[1][:, :, dets] & padded, axis=3).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # settings without GT: not written
        rc_last = tp[..., -1] / npig[:, None, :].astype(np.float64)  # [S, T, C]
    pr = np.where(padded, tp / (fp + tp + np.spacing(1)), 0.0)
    pr = np.maximum.accumulate(pr[..., ::-1], axis=3)[..., ::-1]
    q = _precision_at_recalls(tp_hits, tp_counts, pr, reaching[:, None])  # [S, T, C, R]
    recall_out[:, columns] = np.where(written[:, None, :], rc_last, -1.0).transpose(1, 2, 0)
    precision_out[:, :, columns] = np.where(written[:, None, :, None], q, -1.0).transpose(
        1, 3, 2, 0
    )


def accumulate(
    pairs: PairTable, matches: Matches, categories: np.ndarray | None = None
) -> Accumulated:
    """Build the precision and recall arrays from the per-result match flags.

    `categories`: positions in `pairs.cat_ids` to fill, in that order; the arrays then hold
    those categories only. Any category left out must be one the arrays would leave at -1
    throughout (no GT track), as LV-VIS's 1,196-category grid mostly is. Categories are
    computed together, in batches of similar result counts, not one by one.
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
    npig = np.stack(
        [np.bincount(gt_cat[~matches.gt_ignored[a]], minlength=n_cat)[kept] for a in range(n_areas)]
    ).reshape(n_areas, len(kept))  # [A, K kept]
    with_gt = np.flatnonzero(npig.any(axis=0))  # positions into kept
    if not len(with_gt):
        return Accumulated(precision=precision, recall=recall, cat_ids=pairs.cat_ids[kept])
    reaching = _first_reaching(npig[:, with_gt])  # [A, C, R]
    counted = ~matches.dt_ignored
    flags = (matches.dt_matched & counted, ~matches.dt_matched & counted)  # [A, T, D]

    for m, max_det in enumerate(MAX_DETS):
        chosen = order[pairs.dt_rank[order] < max_det]
        bounds = np.searchsorted(dt_cat[chosen], np.arange(n_cat + 1))
        first, lengths = bounds[kept[with_gt]], np.diff(bounds)[kept[with_gt]]
        # a batch's arrays hold a slot per result and one per recall threshold
        for batch in _category_batches(np.maximum(lengths, n_rec), n_areas * n_thr):
            width = int(lengths[batch].max())
            slots = first[batch][:, None] + np.arange(width)[None, :]
            dets = chosen[np.minimum(slots, max(len(chosen) - 1, 0))] if len(chosen) else slots
            _fill_categories(
                (recall[..., m], precision[..., m]),
                with_gt[batch],
                dets,
                lengths[batch],
                flags,
                npig[:, with_gt[batch]],
                reaching[:, batch],
            )
    return Accumulated(precision=precision, recall=recall, cat_ids=pairs.cat_ids[kept])
