"""Evaluate phase, part 2: greedy matching of results to GT tracks (COCO `evaluateImg` rules).

The official loop runs per (video, category, area range, IoU threshold, result, GT) in Python.
Matching is sequential only over the results of one pair (a GT taken by a better-scored result is
unavailable to the next), so this module steps through result ranks and handles every pair, area
range and threshold of a rank at once with numpy.

Selection rule of the official scan (GT ordered non-ignored first, stably): among GT not yet
taken (crowd GT are never "taken") with IoU >= min(t, 1 - 1e-10), pick the non-ignored one with
the highest IoU, the *later* one in file order on ties; only if no non-ignored GT qualifies, pick
among the ignored ones by the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vis_bench.eval.metric.iou import PairTable
from vis_bench.eval.metric.params import AREA_RANGES, IOU_THRESHOLDS, MATCH_CEILING

# Most (pair x GT slot) cells matched in one batch; bounds memory at ~A*T*this*9 bytes.
_MAX_PADDED = 50_000


@dataclass
class Matches:
    """Per setting s and threshold t, for every result of the PairTable (flat order).

    A setting is what decides which GT and results are ignored: the four area ranges for
    YouTube-VIS (s = area index), the 4 x 4 (area, occlusion) ranges for OVIS (s = a * 4 + o).
    """

    dt_matched: np.ndarray  # bool [S, T, D]: matched to a GT whose id is non-zero (official dtm)
    dt_ignored: np.ndarray  # bool [S, T, D]
    gt_ignored: np.ndarray  # bool [S, G]
    dt_gt: np.ndarray  # int64 [S, T, D]: flat GT index matched, -1 if none


def outside(area: np.ndarray) -> np.ndarray:
    """[A, N] True where a mean area lies outside each (inclusive) area range."""
    lo = np.array([r[0] for r in AREA_RANGES])[:, None]
    hi = np.array([r[1] for r in AREA_RANGES])[:, None]
    return (area[None, :] < lo) | (area[None, :] > hi)


def _last_best(values: np.ndarray, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the last maximum over the last axis among candidates, and whether any exists."""
    vals = np.where(candidate, values, -1.0)
    n = vals.shape[-1]
    idx = n - 1 - np.argmax(vals[..., ::-1], axis=-1)
    return idx, candidate.any(axis=-1)


def match(pairs: PairTable) -> Matches:
    """Match every result of every (video, category) pair, for all area ranges and thresholds."""
    gt_ignored = pairs.gt_crowd[None, :] | outside(pairs.gt_area)  # [A, G]
    dt_gt = match_settings(pairs, gt_ignored)
    return matches_from(pairs, dt_gt, gt_ignored, outside(pairs.dt_area))


def match_settings(pairs: PairTable, gt_ignored: np.ndarray) -> np.ndarray:
    """dt_gt [S, T, D] of every pair with results and GT, one setting per row of gt_ignored."""
    n_set, n_thr = gt_ignored.shape[0], len(IOU_THRESHOLDS)
    dt_gt = np.full((n_set, n_thr, len(pairs.dt_result)), -1, dtype=np.int64)
    active = np.flatnonzero((pairs.dt_count > 0) & (pairs.gt_count > 0))
    for batch in _batches(active, pairs.gt_count[active], pairs.dt_count[active]):
        _match_active(pairs, active[batch], gt_ignored, dt_gt)
    return dt_gt


def match_jobs(
    pairs: PairTable,
    job_pair: np.ndarray,
    job_setting: np.ndarray,
    gt_ignored: np.ndarray,
    dt_gt: np.ndarray,
) -> None:
    """Match pair `job_pair[j]` under setting `job_setting[j]` only, for every job (fills dt_gt).

    For re-matching a few (pair, setting) combinations whose outcome cannot be derived from
    another setting's (eval/ovis/matching.py); the pairs must have both results and GT.
    """
    counts_g, counts_d = pairs.gt_count[job_pair], pairs.dt_count[job_pair]
    for batch in _batches(np.arange(len(job_pair)), counts_g, counts_d):
        _match_active(pairs, job_pair[batch], gt_ignored, dt_gt, job_setting[batch])


def matches_from(
    pairs: PairTable, dt_gt: np.ndarray, gt_ignored: np.ndarray, dt_outside: np.ndarray
) -> Matches:
    """Match and ignore flags from the matched GT per (setting, threshold, result).

    dt_outside [S, D]: results that are ignored when unmatched (mean area outside the range).
    """
    n_set = dt_gt.shape[0]
    matched_any = dt_gt >= 0
    safe = np.where(matched_any, dt_gt, 0)
    if len(pairs.gt_track):
        # The official code stores the matched GT *id* and tests it for truth: id 0 = no match.
        dt_matched = matched_any & (pairs.gt_id[safe] != 0)
        ig_of_match = gt_ignored[np.arange(n_set)[:, None, None], safe]  # [S, T, D]
    else:
        dt_matched = ig_of_match = matched_any
    dt_ignored = (matched_any & ig_of_match) | (~dt_matched & dt_outside[:, None, :])
    return Matches(dt_matched=dt_matched, dt_ignored=dt_ignored, gt_ignored=gt_ignored, dt_gt=dt_gt)


def _batches(items: np.ndarray, gt_count: np.ndarray, dt_count: np.ndarray):
    """Positions into `items` (pairs or jobs, with these GT and result counts) grouped by
    similar GT count, each batch sorted by result count (desc).

    Keeps the padded [pairs, A, T, max GT] arrays of one batch below _MAX_PADDED cells.
    """
    order = np.argsort(gt_count, kind="stable")
    start = 0
    while start < len(order):
        # Sorted ascending, so a prefix of length L is padded to gt_count of its last pair.
        g = gt_count[order[start:]]
        fits = int(np.count_nonzero(np.arange(1, len(g) + 1) * g <= _MAX_PADDED))
        batch = order[start : start + max(1, fits)]
        yield batch[np.argsort(-dt_count[batch], kind="stable")]
        start += max(1, fits)


def _match_active(
    pairs: PairTable,
    active: np.ndarray,
    gt_ignored: np.ndarray,
    dt_gt: np.ndarray,
    settings: np.ndarray | None = None,
) -> None:
    """Rank-by-rank greedy matching of pairs that have both results and GT (fills dt_gt).

    Every setting of gt_ignored for each pair, or with `settings`, setting `settings[q]` only
    for pair `active[q]`.
    """
    n_areas, n_thr = (gt_ignored.shape[0] if settings is None else 1), len(IOU_THRESHOLDS)
    counts_d = pairs.dt_count[active]
    counts_g = pairs.gt_count[active]
    g_max = int(counts_g.max())
    cols = np.arange(g_max)
    valid = cols[None, :] < counts_g[:, None]  # [Q, Gmax]
    g_flat = np.where(valid, pairs.gt_start[active][:, None] + cols[None, :], 0)
    crowd = pairs.gt_crowd[g_flat] & valid  # [Q, Gmax]
    if settings is None:
        ignored = np.transpose(gt_ignored[:, g_flat], (1, 0, 2))  # [Q, A, Gmax]
    else:
        ignored = gt_ignored[settings[:, None], g_flat][:, None, :]  # [Q, 1, Gmax]
    thresholds = np.minimum(IOU_THRESHOLDS, MATCH_CEILING)[None, None, :, None]
    taken = np.zeros((len(active), n_areas, n_thr, g_max), dtype=bool)
    iou_base = pairs.iou_start[active]
    dt_base = pairs.dt_start[active]

    for r in range(int(counts_d[0])):
        n = int(np.searchsorted(-counts_d, -r, side="left"))  # pairs with more than r results
        iou_idx = iou_base[:n, None] + r * counts_g[:n, None] + cols[None, :]
        iou_r = np.where(valid[:n], pairs.iou[np.where(valid[:n], iou_idx, 0)], -1.0)
        iou_b = iou_r[:, None, None, :]
        free = ~taken[:n] | crowd[:n, None, None, :]
        eligible = free & (iou_b >= thresholds)  # [n, A, T, Gmax]
        ig = ignored[:n, :, None, :]
        best_reg, has_reg = _last_best(iou_b, eligible & ~ig)
        best_ign, has_ign = _last_best(iou_b, eligible & ig)
        m = np.where(has_reg, best_reg, np.where(has_ign, best_ign, -1))  # [n, A, T]
        q, a, t = np.nonzero(m >= 0)
        taken[q, a, t, m[q, a, t]] = True
        found = np.where(m >= 0, g_flat[np.arange(n)[:, None, None], np.maximum(m, 0)], -1)
        if settings is None:
            dt_gt[:, :, dt_base[:n] + r] = found.transpose(1, 2, 0)
        else:
            dt_gt[settings[:n], :, dt_base[:n] + r] = found[:, 0, :]
