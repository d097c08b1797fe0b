"""The OVIS metric: the YouTube-VIS metric plus AP and AR per occlusion level.

Same numbers as the OVIS authors' evaluator (`qjy981010/cocoapi`, `oviseval.py`; spec:
tests/fixtures/golden/ovis_eval/README.md). What it adds to YouTube-VIS:

* each GT track gets an occlusion score from its per-frame labels (vis_bench/formats/occlusion.py);
* the matching and accumulation run per (area range, occlusion range) pair, a GT outside the
  occlusion range being ignored like one outside the area range (ovis/matching.py);
* 18 summary numbers instead of 12 (summary.OVIS_STATS).

Inputs the official run aborts on are rejected here with an InputError naming the file, the
annotation or result and the field, checked in the order the official code meets them:
malformed GT labels, malformed result labels, a result whose frame count differs from a GT track
it is compared with, a non-crowd GT track without labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vis_bench.errors import InputError
from vis_bench.eval.metric.accumulate import Accumulated, accumulate
from vis_bench.eval.metric.iou import PairTable
from vis_bench.eval.metric.loading import GroundTruth, Results
from vis_bench.eval.metric.matching import Matches
from vis_bench.eval.metric.params import AREA_RANGES, OCCLUSION_RANGES
from vis_bench.eval.metric.phases import MetricPhases
from vis_bench.eval.metric.summary import summarize_ovis
from vis_bench.eval.ovis.matching import match_ovis


@dataclass
class OcclusionBreakdown:
    """The OVIS arrays over every (area, occlusion) pair, as the official evaluator fills them."""

    precision: np.ndarray  # [T, R, K, A=4, O=4, M]
    recall: np.ndarray  # [T, K, A, O, M]
    gt_occ_score: dict[int, float]  # GT annotation id -> occlusion score (labelled tracks only)
    rematched: int  # (pair, setting) combinations matched again, not derived from one pass


def check_labels(gt: GroundTruth, res: Results) -> None:
    """Reject label lists the OVIS evaluator cannot parse (GT first, then results)."""
    if not gt.has_occlusion_labels and bool((~gt.crowd).any()):
        raise InputError(
            "no annotation has OVIS occlusion labels (annotations[].occlusion: one of "
            "no_occlusion, slight_occlusion, severe_occlusion or null per frame); the OVIS "
            "metric needs them on every non-crowd track. Use the OVIS annotation file, or "
            "--metric ytvis for the YouTube-VIS metric",
            path=gt.path,
            field="occlusion",
        )
    for problems, path in ((gt.occ_problems, gt.path), (res.occ_problems, res.path)):
        if problems:
            more = f" ({len(problems) - 1} more like it)" if len(problems) > 1 else ""
            raise InputError(
                f"{problems[0][1]}; the OVIS evaluator aborts on it{more}",
                path=path,
                field="occlusion",
            )


def check_frame_counts(gt: GroundTruth, res: Results, pairs: PairTable) -> None:
    """The OVIS evaluator asserts equal frame counts for every (result, GT) pair it compares.

    Those are a result among the 100 best of its (video, category) and any GT track of the same
    video and category; the first offending pair in the official order (video, then category)
    is named. YouTube-VIS instead compares such lists up to the shorter one.
    """
    both = np.flatnonzero((pairs.dt_count > 0) & (pairs.gt_count > 0))
    if not len(both):
        return
    dt_len = np.array([len(res.frames[i]) for i in pairs.dt_result.tolist()], dtype=np.int64)
    gt_len = np.array([len(gt.frames[i]) for i in pairs.gt_track.tolist()], dtype=np.int64)
    d_lo, d_hi = _segment_range(dt_len, pairs.dt_start, pairs.dt_count)
    g_lo, g_hi = _segment_range(gt_len, pairs.gt_start, pairs.gt_count)
    same = (d_lo == d_hi) & (g_lo == g_hi) & (d_lo == g_lo)
    bad = both[~same[both]]
    if not len(bad):
        return
    p = bad[np.lexsort((pairs.pair_cat[bad], pairs.pair_video[bad]))[0]]
    d0, g0 = pairs.dt_start[p], pairs.gt_start[p]
    for d in range(d0, d0 + pairs.dt_count[p]):
        for g in range(g0, g0 + pairs.gt_count[p]):
            if dt_len[d] != gt_len[g]:
                break
        else:
            continue
        break
    vid = int(pairs.video_ids[pairs.pair_video[p]])
    cat = int(pairs.cat_ids[pairs.pair_cat[p]])
    length = gt.video_length.get(vid)
    frames = f"; the video has {length} frames" if length is not None else ""
    more = f" ({len(bad) - 1} more (video, category) pairs like it)" if len(bad) > 1 else ""
    raise InputError(
        f"result {int(pairs.dt_result[d])} (video_id {vid}, category_id {cat}) has "
        f"{dt_len[d]} segmentations entries but ground-truth annotation id "
        f"{int(pairs.gt_id[g])} of that video and category has {gt_len[g]}{frames}. The OVIS "
        "evaluator requires one entry per frame and aborts on a mismatch (YouTube-VIS would "
        f"compare up to the shorter list){more}",
        path=res.path,
        field="segmentations",
    )


def _segment_range(
    values: np.ndarray, start: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, min and max of its contiguous segment of `values` (0, 0 where empty)."""
    lo = np.zeros(len(start), dtype=values.dtype)
    hi = np.zeros(len(start), dtype=values.dtype)
    filled = np.flatnonzero(count > 0)  # their segments tile `values` in order
    if len(filled):
        lo[filled] = np.minimum.reduceat(values, start[filled])
        hi[filled] = np.maximum.reduceat(values, start[filled])
    return lo, hi


def check_every_track_labelled(gt: GroundTruth) -> None:
    """A non-crowd GT track without `occlusion` makes the OVIS evaluator abort (KeyError)."""
    missing = np.flatnonzero(~gt.occ_labelled & ~gt.crowd)
    if not len(missing):
        return
    i = int(missing[0])
    more = f" ({len(missing) - 1} more non-crowd tracks lack it)" if len(missing) > 1 else ""
    raise InputError(
        f"annotation id {int(gt.ann_ids[i])} (video_id {int(gt.video_of[i])}) has no "
        "'occlusion' list; the OVIS evaluator needs one on every non-crowd track (crowd tracks "
        f"may omit it) and aborts without it{more}",
        path=gt.path,
        field="occlusion",
    )


def match_grid(gt: GroundTruth, pairs: PairTable) -> tuple[Matches, int]:
    """Matches of the 16 (area, occlusion) settings (s = a * 4 + o) and the re-match count."""
    return match_ovis(pairs, gt.occ_score[pairs.gt_track])


def accumulate_grid(
    gt: GroundTruth, pairs: PairTable, matches: Matches, rematched: int
) -> tuple[Matches, Accumulated, OcclusionBreakdown]:
    """Accumulate every setting; returns the matches and accumulation of the (area, all
    occlusions) settings, identical to the YouTube-VIS ones, and the full breakdown."""
    acc = accumulate(pairs, matches)
    n_area, n_occ = len(AREA_RANGES), len(OCCLUSION_RANGES)
    t, r, k, _, m = acc.precision.shape
    precision = acc.precision.reshape(t, r, k, n_area, n_occ, m)
    recall = acc.recall.reshape(t, k, n_area, n_occ, m)
    labelled = gt.occ_labelled[pairs.gt_track]
    occ = gt.occ_score[pairs.gt_track]
    breakdown = OcclusionBreakdown(
        precision=precision,
        recall=recall,
        gt_occ_score={
            int(i): float(s) for i, s in zip(pairs.gt_id[labelled], occ[labelled], strict=True)
        },
        rematched=rematched,
    )
    base = np.arange(n_area) * n_occ
    base_matches = Matches(
        dt_matched=matches.dt_matched[base],
        dt_ignored=matches.dt_ignored[base],
        gt_ignored=matches.gt_ignored[base],
        dt_gt=matches.dt_gt[base],
    )
    base_acc = Accumulated(
        precision=precision[:, :, :, :, 0], recall=recall[:, :, :, 0], cat_ids=acc.cat_ids
    )
    return base_matches, base_acc, breakdown


def _check_pairs(gt: GroundTruth, res: Results, pairs: PairTable) -> None:
    """What the OVIS evaluator aborts on once pairs are compared, in its order."""
    check_frame_counts(gt, res, pairs)
    check_every_track_labelled(gt)


def _accumulate(
    gt: GroundTruth, pairs: PairTable, matched: tuple[Matches, int]
) -> tuple[Matches, Accumulated, OcclusionBreakdown]:
    return accumulate_grid(gt, pairs, *matched)


def _summarize(acc: Accumulated, breakdown: OcclusionBreakdown) -> dict[str, float]:
    return summarize_ovis(breakdown.precision, breakdown.recall)


#: the OVIS metric as a parameterisation of the shared phases (eval/metric/phases.py)
OVIS_PHASES = MetricPhases("ovis", check_labels, _check_pairs, match_grid, _accumulate, _summarize)


def recognises(gt: GroundTruth) -> bool:
    """Ground truth the OVIS metric scores under `eval --metric auto`: with occlusion labels, or
    with `annotations: null` (OVIS's layout for unlabelled splits, read only by its evaluator)."""
    return bool(gt.has_occlusion_labels or gt.annotations_null)
