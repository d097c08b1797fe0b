"""Where AP50 goes, by error type: TIDE (Bolya et al., ECCV 2020) for video tracks.

AP says how much is lost, not why. TIDE answers by fixing one kind of error at a time and
measuring the AP gained. A prediction that matches no ground truth at the foreground IoU is, in
TIDE's order of tests:

- **loc**: of the right category, with video IoU in [t_b, t_f] to a track of that category;
- **cls**: video IoU >= t_f to a track of another category;
- **dupe**: video IoU >= t_f to a track of its category that a higher-scoring prediction took;
- **bkg**: video IoU <= t_b to every track;
- **both**: anything else (wrong category and poorly placed).

A ground-truth track that no prediction matches and no cls or loc fix would take is **missed**.
The fixes are TIDE's: a cls error takes its track's category, a loc error its track's masks (in
either case only the best-scoring prediction per track, and only when no prediction matched the
track already; the others are removed), both/dupe/bkg predictions are removed, missed tracks are
taken out of the ground truth. For video, a loc error is also fixed in two halves: **loc
(spatial)** replaces the predicted mask only on frames where both the prediction and the track
are present, **loc (temporal)** makes the prediction present exactly where the track is (masks
removed where the track is absent, the track's mask filled in where the prediction is empty).

The AP of each fixed input is the official metric's AP50 (t_f = 0.5, TIDE's setting), computed by
the same code as every number in vis-bench; a gain is clamped at 0 as TIDE does (a fix can cost a
little through the 101-point interpolation).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils

from vis_bench.eval.api import evaluate_loaded
from vis_bench.eval.benchmarks import AP50
from vis_bench.eval.metric.iou import video_ious
from vis_bench.eval.metric.loading import GroundTruth, Results

#: TIDE's foreground and background IoU thresholds
FOREGROUND_IOU = 0.5
BACKGROUND_IOU = 0.1
#: the error types, in the order they are reported
ERROR_TYPES = ("cls", "loc", "loc_spatial", "loc_temporal", "both", "dupe", "bkg", "miss")
#: the statistic the fixes are measured with (AP at t_f, as TIDE)
STAT = AP50


@dataclass(frozen=True)
class PredictionError:
    """One unmatched prediction: its error type and the track its fix uses (None: removed)."""

    result: int  # index in the results file
    kind: str
    track: int | None  # index of the GT track (GroundTruth order)
    video_iou: float


@dataclass
class ErrorBreakdown:
    """The AP50 of the results, and what fixing each error type alone would add to it."""

    ap50: float
    gains: dict[str, float]
    counts: dict[str, int]
    errors: list[PredictionError] = field(repr=False)
    missed: list[int] = field(repr=False)  # GT track indices

    def as_dict(self, gt: GroundTruth) -> dict:
        return {
            "stat": STAT,
            "foreground_iou": FOREGROUND_IOU,
            "background_iou": BACKGROUND_IOU,
            "ap50": self.ap50,
            "gains": self.gains,
            "counts": self.counts,
            "errors": [dataclasses.asdict(e) for e in self.errors],
            "missed_annotation_ids": [int(gt.ann_ids[k]) for k in self.missed],
        }


@dataclass
class _VideoOverlaps:
    results: list[int]
    tracks: list[int]
    iou: np.ndarray  # [results, tracks]


def _overlaps_by_video(gt: GroundTruth, res: Results) -> list[_VideoOverlaps]:
    """Video IoU (the metric's exact counting) of every prediction with every non-crowd track of
    its video, whatever the categories."""
    tracks_of: dict[int, list[int]] = {}
    for k, vid in enumerate(gt.video_of.tolist()):
        if not gt.crowd[k]:
            tracks_of.setdefault(vid, []).append(k)
    results_of: dict[int, list[int]] = {}
    for i, vid in enumerate(res.video_of.tolist()):
        results_of.setdefault(vid, []).append(i)
    out = []
    for vid in sorted(set(tracks_of) | set(results_of)):
        rs, ks = results_of.get(vid, []), tracks_of.get(vid, [])
        if rs and ks:
            iou = video_ious([res.frames[i] for i in rs], gt, ks)
        else:
            iou = np.zeros((len(rs), len(ks)))
        out.append(_VideoOverlaps(rs, ks, iou))
    return out


def _classify_video(
    v: _VideoOverlaps, gt: GroundTruth, res: Results
) -> tuple[dict[int, int], list[PredictionError]]:
    """(prediction -> matched track, the errors) of one video, by TIDE's tests."""
    order = sorted(range(len(v.results)), key=lambda r: -res.score[v.results[r]])
    d_cat = res.category_of[v.results]
    g_cat = gt.category_of[v.tracks]
    same = d_cat[:, None] == g_cat[None, :]
    same_iou = np.where(same, v.iou, 0.0)
    matched: dict[int, int] = {}  # column -> row
    for r in order:  # greedy by score, as the metric
        free = same_iou[r].copy()
        free[list(matched)] = 0.0
        if free.size and free.max() >= FOREGROUND_IOU:
            matched[int(free.argmax())] = r
    taken = {row: col for col, row in matched.items()}
    errors = []
    for r in order:
        if r in taken:
            continue
        errors.append(_classify(r, v, same, same_iou, set(matched)))
    return {v.results[r]: v.tracks[c] for r, c in taken.items()}, errors


def _classify(r: int, v, same, same_iou, used: set[int]) -> PredictionError:
    result = v.results[r]
    if not v.tracks:
        return PredictionError(result, "bkg", None, 0.0)
    c = int(same_iou[r].argmax())
    if BACKGROUND_IOU <= same_iou[r, c] <= FOREGROUND_IOU:
        return PredictionError(result, "loc", v.tracks[c], float(same_iou[r, c]))
    other = np.where(same[r], 0.0, v.iou[r])
    c = int(other.argmax())
    if other[c] >= FOREGROUND_IOU:
        return PredictionError(result, "cls", v.tracks[c], float(other[c]))
    used_same = np.where([col in used for col in range(len(v.tracks))], same_iou[r], 0.0)
    c = int(used_same.argmax())
    if used_same[c] >= FOREGROUND_IOU:
        return PredictionError(result, "dupe", v.tracks[c], float(used_same[c]))
    c = int(v.iou[r].argmax())
    if v.iou[r, c] <= BACKGROUND_IOU:
        return PredictionError(result, "bkg", None, float(v.iou[r, c]))
    return PredictionError(result, "both", v.tracks[c], float(v.iou[r, c]))


@dataclass(frozen=True)
class Classification:
    """Every unmatched prediction's error, the tracks predictions matched, the missed tracks."""

    errors: list[PredictionError]
    matched: frozenset[int]
    missed: list[int]


def classify_errors(gt: GroundTruth, res: Results) -> Classification:
    """Match predictions to tracks as the metric does at t_f, then name each miss (module doc)."""
    errors: list[PredictionError] = []
    matched: set[int] = set()
    for v in _overlaps_by_video(gt, res):
        video_matched, video_errors = _classify_video(v, gt, res)
        matched |= set(video_matched.values())
        errors += video_errors
    usable = {e.track for e in errors if e.kind in ("cls", "loc")}
    missed = [k for k in range(len(gt.ann_ids)) if not gt.crowd[k] and k not in matched | usable]
    return Classification(errors, frozenset(matched), missed)


def _present(entry) -> bool:
    return entry is not None and int(mask_utils.area(entry)) > 0


def _fixed_masks(kind: str, pred: list, track: list) -> list:
    """The prediction's frames after a loc fix of `kind` toward the track's frames."""
    if kind == "loc":
        return list(track)
    n = len(track)
    pred = [pred[t] if t < len(pred) else None for t in range(n)]
    both = [_present(pred[t]) and _present(track[t]) for t in range(n)]
    if kind == "loc_spatial":
        return [track[t] if both[t] else pred[t] for t in range(n)]
    return [pred[t] if both[t] else (track[t] if _present(track[t]) else None) for t in range(n)]


def _fixed_results(gt: GroundTruth, res: Results, found: Classification, kind: str) -> Results:
    """`res` with every error of `kind` fixed (a loc part fixes the loc errors its way)."""
    target = "loc" if kind.startswith("loc") else kind
    fixing = [e for e in found.errors if e.kind == target]
    category = res.category_of.copy()
    frames = list(res.frames)
    removed = set()
    if target in ("cls", "loc"):
        taken = set(found.matched)
        for e in sorted(fixing, key=lambda e: -res.score[e.result]):
            if e.track in taken:
                removed.add(e.result)  # the track is someone's already: the fix is removal
                continue
            taken.add(e.track)
            if target == "cls":
                category[e.result] = gt.category_of[e.track]
            else:
                frames[e.result] = _fixed_masks(kind, res.frames[e.result], gt.frames[e.track])
    else:
        removed = {e.result for e in fixing}
    keep = np.array([i not in removed for i in range(len(res))], dtype=bool)
    return dataclasses.replace(
        res,
        video_of=res.video_of[keep],
        category_of=category[keep],
        score=res.score[keep],
        frames=[f for f, k in zip(frames, keep, strict=True) if k],
        occ_problems=[],
    )


def _without_tracks(gt: GroundTruth, tracks: list[int]) -> GroundTruth:
    """`gt` without the given tracks (the missed-track fix)."""
    keep = np.ones(len(gt.ann_ids), dtype=bool)
    keep[tracks] = False

    def cut(value):
        return value[keep] if isinstance(value, np.ndarray) else value

    return dataclasses.replace(
        gt,
        ann_ids=gt.ann_ids[keep],
        video_of=gt.video_of[keep],
        category_of=gt.category_of[keep],
        crowd=gt.crowd[keep],
        avg_area=gt.avg_area[keep],
        frames=[f for f, k in zip(gt.frames, keep, strict=True) if k],
        frame_areas=[a for a, k in zip(gt.frame_areas, keep, strict=True) if k],
        occ_score=cut(gt.occ_score),
        occ_labelled=cut(gt.occ_labelled),
        occ_problems=[],
        listed=None,
    )


def _ap50(gt: GroundTruth, res: Results) -> float:
    return float(evaluate_loaded(gt, res, metric="ytvis").stats[STAT])


def error_breakdown(gt: GroundTruth, res: Results) -> ErrorBreakdown:
    """Classify every error, then fix each type alone and measure the AP50 it gains."""
    if res.strings is not None:
        raise ValueError("error_breakdown needs results read with load_results (frames as RLE)")
    found = classify_errors(gt, res)
    errors, missed = found.errors, found.missed
    base = _ap50(gt, res)
    gains, counts = {}, {}
    for kind in ERROR_TYPES:
        if kind == "miss":
            counts[kind] = len(missed)
            fixed = _ap50(_without_tracks(gt, missed), res) if missed else base
        else:
            target = "loc" if kind.startswith("loc") else kind
            counts[kind] = sum(e.kind == target for e in errors)
            fixed = _ap50(gt, _fixed_results(gt, res, found, kind)) if counts[kind] else base
        gains[kind] = max(fixed - base, 0.0) if base >= 0 and fixed >= 0 else 0.0
    return ErrorBreakdown(ap50=base, gains=gains, counts=counts, errors=errors, missed=missed)
