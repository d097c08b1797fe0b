"""OVIS matching: every (area range, occlusion range) setting from one pass where possible.

The OVIS evaluator runs the full greedy matching for each of the 4 x 4 (area, occlusion)
settings. An occlusion range only ignores more GT (never results), and ignored GT are scanned
last, so a sub-range can match differently from its area range's "all occlusions" setting.
It cannot when either holds for a (video, category) pair (proof in docs/ovis.md):

* no result of the pair was matched, at any IoU threshold, to a GT that the occlusion range
  newly ignores: every choice of the base matching is still the one the scan makes;
* all GT of the pair share one ignore flag in the base setting and one in the sub-range: both
  scans then see the same single list of candidates.

So the base settings (the four area ranges: exactly the YouTube-VIS matching) are matched once
for all pairs, and only the (pair, setting) combinations that meet neither condition are
matched again. Results equal a full re-match of every setting, bit for bit.
"""

from __future__ import annotations

import numpy as np

from vis_bench.eval.metric.iou import PairTable
from vis_bench.eval.metric.matching import (
    Matches,
    match_jobs,
    match_settings,
    matches_from,
    outside,
)
from vis_bench.eval.metric.params import OCCLUSION_RANGES


def occlusion_outside(score: np.ndarray) -> np.ndarray:
    """[O, N] True where an occlusion score lies outside each (inclusive) occlusion range.

    NaN (a crowd track without labels: always ignored anyway) is outside no range.
    """
    lo = np.array([r[0] for r in OCCLUSION_RANGES])[:, None]
    hi = np.array([r[1] for r in OCCLUSION_RANGES])[:, None]
    return (score[None, :] < lo) | (score[None, :] > hi)


def match_ovis(pairs: PairTable, gt_occ_score: np.ndarray) -> tuple[Matches, int]:
    """Matches for the settings s = a * O + o, and how many (pair, setting) were re-matched.

    gt_occ_score: [G] occlusion score of each GT of the PairTable (flat order).
    """
    n_area, n_occ = 4, len(OCCLUSION_RANGES)
    area_ignored = pairs.gt_crowd[None, :] | outside(pairs.gt_area)  # [A, G]
    gt_ignored = area_ignored[:, None, :] | occlusion_outside(gt_occ_score)[None, :, :]
    base = match_settings(pairs, area_ignored)  # [A, T, D]: the YouTube-VIS matching
    dt_gt = np.repeat(base[:, None], n_occ, axis=1).reshape(n_area * n_occ, *base.shape[1:])
    flat_ignored = gt_ignored.reshape(n_area * n_occ, -1)
    job_pair, job_setting = _rematch_jobs(pairs, base, area_ignored, gt_ignored)
    match_jobs(pairs, job_pair, job_setting, flat_ignored, dt_gt)
    # No result is ignored for its occlusion: only the area rule applies to unmatched results.
    dt_outside = np.repeat(outside(pairs.dt_area)[:, None, :], n_occ, axis=1)
    matches = matches_from(pairs, dt_gt, flat_ignored, dt_outside.reshape(n_area * n_occ, -1))
    return matches, len(job_pair)


def _rematch_jobs(
    pairs: PairTable, base: np.ndarray, area_ignored: np.ndarray, gt_ignored: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(pair, setting) combinations whose matching cannot be copied from the base setting."""
    n_pairs = pairs.n_pairs
    n_occ = gt_ignored.shape[1]
    dt_pair = np.repeat(np.arange(n_pairs), pairs.dt_count)
    gt_pair = np.repeat(np.arange(n_pairs), pairs.gt_count)
    gt_count = pairs.gt_count
    job_pair, job_setting = [], []
    for a in range(area_ignored.shape[0]):
        base_ignored = np.bincount(gt_pair, weights=area_ignored[a], minlength=n_pairs)
        base_uniform = (base_ignored == 0) | (base_ignored == gt_count)
        matched = base[a] >= 0  # [T, D]
        for o in range(1, n_occ):
            newly = gt_ignored[a, o] & ~area_ignored[a]  # [G]
            if not newly.any():
                continue
            hits = (matched & newly[np.where(matched, base[a], 0)]).any(axis=0)  # [D]
            touched = np.bincount(dt_pair[hits], minlength=n_pairs) > 0
            ignored = np.bincount(gt_pair, weights=gt_ignored[a, o], minlength=n_pairs)
            uniform = base_uniform & ((ignored == 0) | (ignored == gt_count))
            need = np.flatnonzero(touched & ~uniform)
            job_pair.append(need)
            job_setting.append(np.full(len(need), a * n_occ + o))
    if not job_pair:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(job_pair), np.concatenate(job_setting).astype(np.int64)
