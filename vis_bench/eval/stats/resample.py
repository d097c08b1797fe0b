"""AP, AP50, AP75 and AR10 of the official metric over any multiset of videos, without rematching.

A multiset is given as integer weights per video: 1 = the video as it is, 0 = left out, 2 = the
video twice (as two videos with ids right after each other). The numbers are those the official
evaluator gives on a GT/results pair built that way, score ties included: results are gathered in
(video, copy, rank) order and stably sorted by descending score, then accumulated exactly as in
`accumulate.py` (same cumulative counts, same right-to-left precision envelope, same recall
search on exact integers). One weight vector costs a few numpy passes over the results of the
categories, padded to the longest category, with no IoU or matching work: bootstrap resamples,
per-video scores and subsets all use it.
"""

from __future__ import annotations

import numpy as np

# RESAMPLED_STATS: the numbers a weight vector gives (area "all"; AP* at 100 results per
# video, AR10 at 10), as declared with the metric
from vis_bench.eval.benchmarks import AP, AP50, AP75, AR10, RESAMPLED_STATS
from vis_bench.eval.metric.params import IOU_THRESHOLDS, RECALL_THRESHOLDS
from vis_bench.eval.stats.video_matches import VideoMatches

_T50 = int(np.flatnonzero(IOU_THRESHOLDS == 0.5)[0])
_T75 = int(np.flatnonzero(IOU_THRESHOLDS == 0.75)[0])


def first_counts_reaching(npig: np.ndarray) -> np.ndarray:
    """[K, R]: per category, the smallest TP count c with c / npig >= each recall threshold.

    The same doubles as searching `arange(npig + 1) / npig` (what accumulate does), found from
    ceil(r * npig) and corrected where rounding put it one off.
    """
    n = npig[:, None].astype(np.float64)
    c = np.ceil(RECALL_THRESHOLDS[None, :] * n).astype(np.int64)
    for _ in range(3):
        low = c / n < RECALL_THRESHOLDS[None, :]
        high = (c > 0) & ((c - 1) / n >= RECALL_THRESHOLDS[None, :])
        if not (low.any() or high.any()):
            break
        c = c + low - high
    return c


class WeightedAccumulator:
    """Precomputed orders and counts of one `VideoMatches`; call `stats(weights)` many times."""

    def __init__(self, matches: VideoMatches) -> None:
        self.matches = matches
        m = matches
        # Official accumulation order: stable sort of the (category, video, rank) flat order by
        # (category, -score).
        self.order = np.lexsort((-m.score, m.category))
        cat, score, video = m.category[self.order], m.score[self.order], m.video[self.order]
        new_group = np.ones(len(self.order), dtype=bool)
        new_group[1:] = (
            (cat[1:] != cat[:-1]) | (score[1:] != score[:-1]) | (video[1:] != video[:-1])
        )
        #: equal (category, score, video) runs: only there copies of a video must be regrouped
        self.group = np.cumsum(new_group) - 1
        self.has_ties = not new_group.all()
        self.video_of = video
        n_thr, n_cat, n_vid = len(IOU_THRESHOLDS), len(m.cat_ids), m.n_videos
        top10 = m.rank < 10
        self.tp10 = np.zeros((n_thr, n_cat, n_vid), dtype=np.float64)
        for t in range(n_thr):
            hit = top10 & m.tp[t]
            self.tp10[t] = np.bincount(
                m.category[hit] * n_vid + m.video[hit], minlength=n_cat * n_vid
            ).reshape(n_cat, n_vid)

    def _expanded(self, weights: np.ndarray) -> np.ndarray:
        """Result indices of the weighted multiset, in the official accumulation order."""
        reps = weights[self.video_of]
        flat = np.repeat(self.order, reps)
        if self.has_ties and len(flat):
            # Copies of one video follow each other: within a run of equal scores of one video,
            # all results of copy 0 (rank order), then all of copy 1, ...
            copy = np.arange(len(flat)) - np.repeat(np.cumsum(reps) - reps, reps)
            flat = flat[np.lexsort((copy, np.repeat(self.group, reps)))]
        return flat

    def stats(self, weights: np.ndarray) -> dict[str, float]:
        """AP, AP50, AP75, AR10 (fractions, -1 where undefined) for integer video weights [V]."""
        weights = np.asarray(weights, dtype=np.int64)
        npig = self.matches.gt_count @ weights  # [K]
        defined = np.flatnonzero(npig > 0)
        if not len(defined):
            return dict.fromkeys(RESAMPLED_STATS, -1.0)
        # [T, R, K'] like the official precision array, so the means add the same entries
        # in the same order as `summarize` does
        q = np.ascontiguousarray(self._precision(self._expanded(weights), npig, defined))
        q = np.ascontiguousarray(q.transpose(0, 2, 1))
        recall10 = (self.tp10[:, defined] @ weights) / npig[defined]  # [T, K']
        return {
            AP: float(np.mean(q.ravel())),
            AP50: float(np.mean(q[_T50].ravel())),
            AP75: float(np.mean(q[_T75].ravel())),
            AR10: float(np.mean(recall10.ravel())),
        }

    def _precision(self, flat: np.ndarray, npig: np.ndarray, defined: np.ndarray) -> np.ndarray:
        """Interpolated precision [T, K', R] of the defined categories (accumulate's rules)."""
        m = self.matches
        n_thr, n_rec = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS)
        slot = np.full(len(m.cat_ids), -1, dtype=np.int64)
        slot[defined] = np.arange(len(defined))
        flat = flat[slot[m.category[flat]] >= 0]
        cat = slot[m.category[flat]]
        counts = np.bincount(cat, minlength=len(defined))
        width = max(int(counts.max()), 1)
        pos = np.arange(len(flat)) - (np.cumsum(counts) - counts)[cat]
        tp = np.zeros((n_thr, len(defined), width), dtype=np.int64)
        fp = np.zeros_like(tp)
        tp[:, cat, pos] = m.tp[:, flat]
        fp[:, cat, pos] = m.fp[:, flat]
        tp = np.cumsum(tp, axis=2)
        fp = np.cumsum(fp, axis=2)
        tp_f = tp.astype(np.float64)
        pr = tp_f / (fp.astype(np.float64) + tp_f + np.spacing(1))
        inside = np.arange(width)[None, :] < counts[:, None]  # [K', W]
        pr = np.where(inside[None], pr, 0.0)
        pr = np.maximum.accumulate(pr[..., ::-1], axis=2)[..., ::-1]
        # Left insertion of the needed counts into each row of exact integer TP counts; rows
        # kept apart by an offset so one search covers them all.
        need = first_counts_reaching(npig[defined])  # [K', R]
        rows = n_thr * len(defined)
        step = int(tp.max(initial=0)) + int(need.max(initial=0)) + 2
        offset = (np.arange(rows) * step).reshape(n_thr, len(defined), 1)
        found = np.searchsorted((tp + offset).ravel(), (need[None] + offset).ravel(), "left")
        idx = found.reshape(n_thr, len(defined), n_rec) - (np.arange(rows) * width).reshape(
            n_thr, len(defined), 1
        )
        hit = idx < counts[None, :, None]
        t_ix = np.arange(n_thr)[:, None, None]
        k_ix = np.arange(len(defined))[None, :, None]
        return np.where(hit, pr[t_ix, k_ix, np.minimum(idx, width - 1)], 0.0)

    def stats_many(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """`stats` for each row of a [N, V] weight matrix: arrays [N] per statistic."""
        rows = [self.stats(w) for w in np.asarray(weights)]
        return {name: np.array([r[name] for r in rows]) for name in RESAMPLED_STATS}
