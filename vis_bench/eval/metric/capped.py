"""Predictions the 100-per-(video, category) cap hides from the metric, and whether any of them
would have matched a ground-truth track.

The official evaluators keep the 100 best-scored predictions of each (video, category) and never
look at the rest, so a model that writes more loses any true positive scored below them without
a word. `validate` warns of every pair over the cap; `eval` gives the same warning (the count and
the message are result_checks.py's), and says how many of the ignored predictions would have
taken a ground-truth track no better-scored prediction took, at one IoU threshold or more:
true positives the metric never counts. Only the pairs over the cap are overlapped, so a file
within it costs one count.
"""

from __future__ import annotations

import numpy as np

from vis_bench.eval.metric.iou import video_ious
from vis_bench.eval.metric.loading import GroundTruth, Results
from vis_bench.eval.metric.params import IOU_THRESHOLDS, MAX_DETS
from vis_bench.eval.metric.result_checks import cap_message, over_cap
from vis_bench.eval.rle.count_lists import MARKER

#: how many (video, category) pairs the warning names
_NAMED = 3


def cap_warning(gt: GroundTruth, res: Results) -> str | None:
    """One line for the pairs over the cap (None when there are none): validate's message for
    the first of them, how many pairs and ignored predictions in all, and how many of those would
    have matched a ground-truth track, with the fix."""
    cat_ids = np.asarray(gt.cat_ids, dtype=np.int64)
    if len(res) <= MAX_DETS[-1] or not len(cat_ids):
        return None
    # the common case counted without a Python loop: one key per (video, category) pair of a
    # category the ground truth lists (the others are never scored)
    cats = np.minimum(np.searchsorted(cat_ids, res.category_of), len(cat_ids) - 1)
    scored = np.flatnonzero(cat_ids[cats] == res.category_of)
    pair = res.video_of[scored] * len(cat_ids) + cats[scored]
    if not len(pair) or np.unique(pair, return_counts=True)[1].max() <= MAX_DETS[-1]:
        return None
    keys = zip(res.video_of[scored].tolist(), res.category_of[scored].tolist(), strict=True)
    capped = over_cap(list(zip(scored.tolist(), keys, strict=True)))
    if not capped:
        return None
    cap = MAX_DETS[-1]
    ignored = sum(n - cap for n, _ in capped.values())
    matched = sum(_ignored_matches(gt, res, vid, cat) for vid, cat in capped)
    named = sorted(capped)[:_NAMED]
    examples = "; ".join(f"video {v}: {cap_message(capped[(v, c)][0], c)}" for v, c in named)
    more = f" (and {len(capped) - _NAMED} more pairs)" if len(capped) > _NAMED else ""
    lost = (
        f"{matched} of them would have matched a ground-truth track at one or more of the "
        "metric's IoU thresholds: true positives the numbers above never count"
        if matched
        else "none of them would have matched a ground-truth track"
    )
    return (
        f"{examples}{more}: {ignored} predictions in {len(capped)} (video, category) pairs are "
        f"ignored, and {lost}; keep the {cap} best-scored predictions of each video and category"
    )


def _ignored_matches(gt: GroundTruth, res: Results, vid: int, cat: int) -> int:
    """How many predictions of (vid, cat) below the cap would be true positives at one IoU
    threshold or more: matched greedily in score order, as the metric matches, with the cap
    lifted (the non-crowd GT tracks only)."""
    mine = np.flatnonzero((res.video_of == vid) & (res.category_of == cat))
    order = mine[np.argsort(-res.score[mine], kind="stable")].tolist()  # the metric's order
    tracks = np.flatnonzero((gt.video_of == vid) & (gt.category_of == cat) & ~gt.crowd).tolist()
    if not tracks:
        return 0
    iou = video_ious([[_plain(res, seg) for seg in res.frames[r]] for r in order], gt, tracks)
    lost = np.zeros(len(order), dtype=bool)
    for threshold in IOU_THRESHOLDS:
        lost |= _greedy_matches(iou, threshold)
    return int(lost[MAX_DETS[-1] :].sum())


def _greedy_matches(iou: np.ndarray, threshold: float) -> np.ndarray:
    """Which rows (predictions in score order) take a column (a GT track) at `threshold`: each
    the free track it overlaps most, as the metric matches."""
    taken = np.zeros(iou.shape[1], dtype=bool)
    matched = np.zeros(iou.shape[0], dtype=bool)
    for rank, row in enumerate(iou):
        free = np.where(taken, -1.0, row)
        best = int(np.argmax(free))
        if free[best] >= threshold:
            taken[best] = matched[rank] = True
            if taken.all():
                break
    return matched


def _plain(res: Results, seg: dict | None) -> dict | None:
    """A result frame as an RLE object (a located results text keeps its strings apart)."""
    if seg is None or res.strings is None or MARKER not in seg:
        return seg
    return res.strings.restored(seg)
